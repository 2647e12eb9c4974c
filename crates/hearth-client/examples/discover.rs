//! Lists Hearth servers on the LAN as they come and go, one JSON line per
//! event (`{"event":"found","data":{…}}` or `{"event":"lost","data":{"id":…}}`).
//!
//! `cargo run -p hearth-client --example discover [SECONDS]`: browses until
//! interrupted, or for SECONDS.

use std::time::Duration;

use hearth_client::discovery::Discovery;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit = std::env::args()
        .nth(1)
        .map(|s| s.parse::<f64>().map(Duration::from_secs_f64))
        .transpose()?;
    let (discovery, mut events) = Discovery::start()?;
    let print = async {
        while let Some(event) = events.recv().await {
            println!(
                "{}",
                serde_json::to_string(&event).expect("events serialize")
            );
        }
    };
    match limit {
        Some(limit) => {
            let _ = tokio::time::timeout(limit, print).await;
        }
        None => print.await,
    }
    discovery.stop();
    Ok(())
}
