//! The upload sweep: every `file_sweep_interval`, uploads that no retained,
//! undeleted message refers to and that are older than
//! [`UNREFERENCED_TTL`] are forgotten by the broker and their bytes
//! removed; so are bytes older than that with no record at all (a node
//! that died between storing the bytes and recording them). Runs on every
//! node; the broker's sweep is atomic, so nodes racing do no harm.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::state::AppState;

use super::{FileError, UNREFERENCED_TTL};

/// Now, in ms since the Unix epoch, on the sweep's clock (the real one
/// plus whatever a test moved `files_clock` on).
pub fn now_ms(state: &AppState) -> i64 {
    let now = SystemTime::now() + state.config.files_clock.offset();
    now.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Sweeps until the server shuts down.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.file_sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = tick.tick() => {
                    match run_once(&state).await {
                        Ok(0) => {}
                        Ok(removed) => tracing::info!(removed, "removed unreferenced uploads"),
                        Err(err) => tracing::warn!("the upload sweep failed: {err}"),
                    }
                }
            }
        }
    });
}

/// One sweep; returns how many uploads' bytes it removed.
pub async fn run_once(state: &AppState) -> Result<usize, FileError> {
    let cutoff = now_ms(state) - UNREFERENCED_TTL.as_millis() as i64;
    let mut removed = 0;
    let forgotten = state
        .broker
        .sweep_files(cutoff)
        .await
        .map_err(|e| FileError::Storage(e.to_string()))?;
    for id in forgotten {
        state.files.remove(&id).await?;
        removed += 1;
    }
    for id in state.files.stored_before(cutoff).await? {
        let recorded = state
            .broker
            .file(&id)
            .await
            .map_err(|e| FileError::Storage(e.to_string()))?;
        if recorded.is_none() {
            state.files.remove(&id).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
