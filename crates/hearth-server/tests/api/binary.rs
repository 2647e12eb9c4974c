//! The `hearth` binary as an operator runs it.

use std::time::Duration;

use hearth_proto::AuthMode;

use crate::support::*;

#[test]
fn the_server_binary_links_no_gui_library() {
    let output = std::process::Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_hearth"))
        .output()
        .expect("ldd runs");
    let libraries = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(libraries.contains("libc.so"), "{libraries}");
    for gui in ["gtk", "webkit", "javascriptcore", "libx11", "wayland"] {
        assert!(!libraries.contains(gui), "hearth links {gui}: {libraries}");
    }
}

#[tokio::test]
async fn sigterm_ends_open_streams_and_the_process_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ChildServer::start(data.path(), &[]).await;
    let mut ana = server.client();
    ana.sign_in("ana", None).await.unwrap();
    let mut raw = RawSse::open_past_start(
        &server.url("/api/rooms/general/events"),
        ana.token().unwrap(),
    )
    .await;
    let pid = server.child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(raw.frame().await, None, "the stream ends cleanly");
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("exits within its grace period")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn environment_variables_configure_the_server() {
    let data = tempfile::tempdir().unwrap();
    let server = ChildServer::start_with_env(
        data.path(),
        &[],
        &[
            ("HEARTH_PASSWORD", "sesame"),
            ("HEARTH_NAME", "Attic"),
            // Without it, the right password just after a wrong one is 429.
            ("HEARTH_PASSWORD_BACKOFF", "0s"),
        ],
    )
    .await;
    let info = server.client().info().await.unwrap();
    assert_eq!(info.auth, AuthMode::Password);
    assert_eq!(info.name, "Attic");
    let mut client = server.client();
    assert!(client.sign_in("ana", Some("wrong")).await.is_err());
    client.sign_in("ana", Some("sesame")).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the signing secret is private");
    }
}
