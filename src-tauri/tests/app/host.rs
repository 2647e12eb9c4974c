//! Hosting: the embedded server starts, serves the LAN (here: loopback),
//! stops cleanly, and keeps its history for the next start.

use futures::StreamExt;
use hearth_client::{Followed, StreamTarget};
use hearth_desktop::desktop::HostStart;
use hearth_desktop::host::{self, Host, HostConfig};
use hearth_desktop::secrets::{HOST_ACCOUNT, MemorySecrets};
use hearth_desktop::settings::FILE_NAME;
use hearth_proto::RoomName;

use crate::support::{AppDirs, TestApp, WAIT, client_at, history};

fn start(nick: Option<&str>, password: Option<&str>) -> HostStart {
    HostStart {
        password: password.map(str::to_owned),
        nick: nick.map(str::to_owned),
        room: None,
        start_on_launch: None,
        redis: None,
        https: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosting_serves_clients_stops_cleanly_and_keeps_history() {
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;

    let status = app
        .desktop
        .host_start(start(Some("hostess"), None))
        .await
        .unwrap();
    assert!(status.running, "{status:?}");
    assert_eq!(status.room.as_str(), "general");
    let port = status.port.unwrap();
    let local = status.local_url.clone().unwrap();
    assert_eq!(local, format!("http://127.0.0.1:{port}/"));
    assert!(status.links.is_empty(), "a loopback bind has no LAN links");
    let own_room = status
        .room_id
        .clone()
        .expect("the host joined its own room");
    app.wait_state(&own_room, "connected").await;

    // Another machine (here: a client on loopback) joins and talks.
    let guest = client_at(&local, "guest").await;
    let general = RoomName::default_room();
    guest
        .post(&general, "kept across restarts", "c-1")
        .await
        .unwrap();
    app.wait_message(&own_room, "kept across restarts").await;
    assert!(dirs.data().join("server").join("hearth.db").exists());

    // An open stream of the guest ends when hosting stops.
    let mut guest_stream = Box::pin(guest.follow(
        StreamTarget::Room(general.clone()),
        None,
        crate::support::fast(),
    ));
    assert!(matches!(
        guest_stream.next().await,
        Some(Followed::Connected)
    ));

    let stopped = app.desktop.host_stop().await.unwrap();
    assert!(!stopped.running && stopped.port.is_none());
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(item) = guest_stream.next().await {
            if let Followed::Reconnecting { .. } = item {
                return;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the guest's stream ends when hosting stops");
    drop(guest_stream);
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "the port is closed after stopping"
    );
    app.wait_state(&own_room, "offline").await;

    // The next start serves the same history.
    let again = app.desktop.host_start(start(None, None)).await.unwrap();
    assert_eq!(again.nick.as_ref().map(|n| n.as_str()), Some("hostess"));
    assert_eq!(again.room_id.as_deref(), Some(own_room.as_str()));
    let guest = client_at(again.local_url.as_deref().unwrap(), "guest").await;
    let texts: Vec<String> = history(&guest, "general")
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["kept across restarts"]);
    app.wait_state(&own_room, "connected").await;
    let seen = app
        .desktop
        .rooms()
        .history(&own_room, None, None)
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosting_takes_the_next_free_port_when_the_first_is_busy() {
    let busy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken = busy.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let host = Host::new();
    let hosting = host
        .start(HostConfig {
            bind: "127.0.0.1".parse().unwrap(),
            ports: vec![taken, 0],
            data_dir: dir.path().to_owned(),
            password: None,
            name: "test".into(),
            redis: None,
            tls: None,
            admins: Vec::new(),
        })
        .await
        .unwrap();
    assert_ne!(hosting.addr.port(), taken);
    assert!(host.status().await.is_some());
    let err = host
        .start(HostConfig {
            bind: "127.0.0.1".parse().unwrap(),
            ports: vec![0],
            data_dir: dir.path().to_owned(),
            password: None,
            name: "test".into(),
            redis: None,
            tls: None,
            admins: Vec::new(),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already hosting"), "{err}");
    assert!(host.stop().await.unwrap());
    assert!(!host.stop().await.unwrap());
    assert_eq!(host::default_ports().first(), Some(&8989));
    assert_eq!(host::default_ports().last(), Some(&0));
    assert_eq!(host::default_ports().len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosting_password_is_enforced_and_kept_in_the_keychain() {
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;

    let status = app
        .desktop
        .host_start(HostStart {
            password: Some("sesame".into()),
            nick: Some("hostess".into()),
            room: Some("den".into()),
            start_on_launch: Some(true),
            redis: None,
            https: None,
        })
        .await
        .unwrap();
    assert!(status.password_set && status.start_on_launch);
    assert_eq!(status.room.as_str(), "den");
    let own_room = status.room_id.clone().unwrap();
    app.wait_state(&own_room, "connected").await;
    assert!(secrets.accounts().contains(&HOST_ACCOUNT.to_owned()));
    assert!(
        secrets
            .accounts()
            .contains(&"hosted/r/den hostess".to_owned())
    );
    // The password is a secret: never in the settings file.
    let settings = std::fs::read_to_string(dirs.config().join(FILE_NAME)).unwrap();
    assert!(!settings.contains("sesame"), "{settings}");

    let local = status.local_url.unwrap();
    let mut stranger = hearth_client::Client::new(&local).unwrap();
    let refused = stranger.sign_in("stranger", None).await.unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(401));
    stranger.sign_in("friend", Some("sesame")).await.unwrap();
    app.desktop.host_stop().await.unwrap();

    // A restart of the app hosts on launch, with the kept password.
    app.desktop.shutdown().await;
    let mut app = TestApp::open(&dirs, &secrets).await;
    let relaunched = app.desktop.start_hosting_if_asked().await.unwrap().unwrap();
    assert!(relaunched.running && relaunched.password_set);
    app.wait_state(&own_room, "connected").await;
    let local = relaunched.local_url.unwrap();
    let mut stranger = hearth_client::Client::new(&local).unwrap();
    assert!(stranger.sign_in("stranger", None).await.is_err());
    app.desktop.host_stop().await.unwrap();

    // An empty password hosts without one, and forgets the old one.
    let open = app.desktop.host_start(start(None, Some(""))).await.unwrap();
    assert!(!open.password_set);
    assert!(!secrets.accounts().contains(&HOST_ACCOUNT.to_owned()));
    client_at(open.local_url.as_deref().unwrap(), "anyone").await;
    app.desktop.save_host_settings(false).await.unwrap();
    assert!(app.desktop.start_hosting_if_asked().await.is_none());
    app.wait_state(&own_room, "connected").await;
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosting_on_redis_keeps_rooms_there_and_a_bad_address_changes_nothing() {
    use hearth_desktop::secrets::{HOST_REDIS_ACCOUNT, SecretStore};
    use hearth_server::config::{Backend, RedisConfig};

    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;

    // A bad address: a readable error, nothing starts, nothing is saved.
    let err = app
        .desktop
        .host_start(HostStart {
            redis: Some("localhost:6379".into()),
            ..start(Some("hostess"), None)
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redis://"), "{err}");
    let status = app.desktop.host_status().await;
    assert!(!status.running);
    assert_eq!(status.redis, None);

    let redis_dir = tempfile::tempdir().unwrap();
    let redis = hearth_testkit::RedisServer::start(redis_dir.path());
    let status = app
        .desktop
        .host_start(HostStart {
            redis: Some(redis.url()),
            ..start(Some("hostess"), None)
        })
        .await
        .unwrap();
    assert!(status.running, "{status:?}");
    assert_eq!(status.redis.as_deref(), Some(redis.url().as_str()));
    assert_eq!(secrets.get(HOST_REDIS_ACCOUNT).unwrap(), Some(redis.url()));
    let own_room = status.room_id.clone().expect("joined its own room");
    app.wait_state(&own_room, "connected").await;
    let guest = client_at(&status.local_url.unwrap(), "guest").await;
    guest
        .post(&RoomName::default_room(), "kept in redis", "r-1")
        .await
        .unwrap();
    app.wait_message(&own_room, "kept in redis").await;
    assert!(
        !dirs.data().join("server").join("hearth.db").exists(),
        "no SQLite history when hosting on Redis"
    );

    // Another node on the same Redis (a headless server) has the message.
    let node_dir = tempfile::tempdir().unwrap();
    let mut config = hearth_server::Config::new(node_dir.path());
    config.backend = Backend::Redis(RedisConfig::new(redis.url()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node_url = format!("http://{}/", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(hearth_server::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let auditor = client_at(&node_url, "auditor").await;
    let stored = history(&auditor, "general").await;
    assert!(
        stored.iter().any(|m| m.text == "kept in redis"),
        "{stored:?}"
    );
    let _ = stop.send(());
    node.await.unwrap().unwrap();

    // Restarting hosting without naming Redis uses the saved one.
    app.desktop.host_stop().await.unwrap();
    let again = app
        .desktop
        .host_start(start(Some("hostess"), None))
        .await
        .unwrap();
    assert_eq!(again.redis.as_deref(), Some(redis.url().as_str()));
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosting_over_https_shows_the_fingerprint_guests_pin() {
    use hearth_client::{Client, ClientError};
    use hearth_proto::CertFingerprint;

    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let status = app
        .desktop
        .host_start(HostStart {
            https: Some(true),
            ..start(Some("hostess"), None)
        })
        .await
        .unwrap();
    assert!(status.running && status.https, "{status:?}");
    let shown = status
        .fingerprint
        .clone()
        .expect("the host screen shows it");
    let fingerprint: CertFingerprint = shown.parse().unwrap();
    let local = status.local_url.clone().unwrap();
    assert!(local.starts_with("https://127.0.0.1:"), "{local}");
    let own_room = status.room_id.clone().expect("joined its own room");
    app.wait_state(&own_room, "connected").await;

    // A guest who pinned the fingerprint talks; one who did not is refused.
    let mut guest = Client::new_pinned(&local, Some(fingerprint)).unwrap();
    guest.sign_in("guest", None).await.unwrap();
    guest
        .post(&RoomName::default_room(), "pinned and in", "p-1")
        .await
        .unwrap();
    app.wait_message(&own_room, "pinned and in").await;
    let mut stranger = Client::new(&local).unwrap();
    let refused = stranger.sign_in("stranger", None).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Certificate(_)),
        "{refused:?}"
    );

    // The certificate is kept: hosting again shows the same fingerprint,
    // so the pins people saved keep working.
    app.desktop.host_stop().await.unwrap();
    let again = app
        .desktop
        .host_start(start(Some("hostess"), None))
        .await
        .unwrap();
    assert!(again.https, "the choice is saved");
    assert_eq!(again.fingerprint.as_deref(), Some(shown.as_str()));
    app.desktop.shutdown().await;
}
