//! Joining remote rooms: probe, sign in, follow through the sink, history,
//! room list, several rooms on one connection, forgetting, passwords,
//! resuming after a restart, and renewing a refused token.

use std::sync::Arc;

use hearth_desktop::error::CommandError;
use hearth_desktop::events::{AppEvent, LocalEvent, OutboxState};
use hearth_desktop::rooms::JoinRequest;
use hearth_desktop::secrets::{MemorySecrets, RoomSecret, SecretStore};
use hearth_desktop::settings::FILE_NAME;
use hearth_proto::{AuthMode, RoomName, StreamEvent};

use crate::support::{AppDirs, TestApp, TestServer, copies};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probing_reads_the_server_info_and_the_linked_room() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let app = TestApp::open(&dirs, &MemorySecrets::new()).await;

    let probe = app
        .desktop
        .rooms()
        .probe(&format!("{}/r/dev", server.addr), None)
        .await
        .unwrap();
    assert_eq!(probe.server, server.url("/"));
    assert_eq!(probe.room.unwrap().as_str(), "dev");
    // https:// to a server that speaks plain HTTP.
    let err = app
        .desktop
        .rooms()
        .probe(&format!("https://{}", server.addr), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} does not speak HTTPS. Try http://{} instead.",
            server.addr, server.addr
        )
    );
    assert_eq!(probe.info.auth, AuthMode::None);

    let err = app
        .desktop
        .rooms()
        .probe("http://host/r/Bad Room", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("That link names a room Hearth cannot open"),
        "{err}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = app
        .desktop
        .rooms()
        .probe(&format!("127.0.0.1:{port}"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::Unreachable { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "Nothing answers at 127.0.0.1:{port}: connection refused. Check the address and that the host is running."
        )
    );
    let err = app
        .desktop
        .rooms()
        .probe("http://nope.invalid:8989", None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No computer called nope.invalid was found. Check the address."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_post_and_follow_deliver_every_event_through_the_sink() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;

    let joined = app
        .desktop
        .rooms()
        .join(JoinRequest::new(server.url("/r/dev"), " ana "))
        .await
        .unwrap();
    assert!(joined.warning.is_none());
    let room = joined.room;
    assert_eq!(room.room.as_str(), "dev");
    assert_eq!(room.nick.as_str(), "ana");
    assert_eq!(room.url, server.url("/r/dev"));
    app.wait_state(&room.id, "connected").await;
    app.wait_for(
        "ready",
        |e| matches!(&e.event, AppEvent::Stream(StreamEvent::Ready(r)) if r.room.as_str() == "dev"),
    )
    .await;
    app.wait_for(
        "presence",
        |e| matches!(&e.event, AppEvent::Stream(StreamEvent::Presence(p)) if p.online == ["ana"]),
    )
    .await;

    // The token (not the settings file) holds the session.
    let account = format!("{}/r/dev ana", server.url(""));
    let secret: RoomSecret =
        serde_json::from_str(&secrets.get(&account).unwrap().unwrap()).unwrap();
    assert!(secret.token.is_some() && secret.password.is_none());
    let settings = std::fs::read_to_string(dirs.config().join(FILE_NAME)).unwrap();
    assert!(!settings.contains(secret.token.as_deref().unwrap()));

    // Posting: queued, stored, echoed by the stream with its client_id.
    let queued = app
        .desktop
        .outbox()
        .enqueue(&room.id, "hello\r\nLAN  ")
        .unwrap();
    assert_eq!(queued.text, "hello\nLAN");
    let echoed = app.wait_message(&room.id, "hello\nLAN").await;
    assert_eq!(echoed.client_id.as_deref(), Some(queued.client_id.as_str()));
    assert_eq!(echoed.nick, "ana");
    app.wait_for("sent", |e| {
        matches!(&e.event, AppEvent::Local(LocalEvent::Outbox(u))
            if u.client_id == queued.client_id && matches!(u.state, OutboxState::Sent { .. }))
    })
    .await;
    assert!(app.desktop.outbox().pending(None).is_empty());

    // Someone else joins and talks: join, message, unread.
    let bo = server.client("bo").await;
    let dev = RoomName::parse("dev").unwrap();
    let mut bo_stream = Box::pin(bo.follow(
        hearth_client::StreamTarget::Room(dev.clone()),
        None,
        crate::support::fast(),
    ));
    use futures::StreamExt;
    assert!(matches!(
        bo_stream.next().await,
        Some(hearth_client::Followed::Connected)
    ));
    app.wait_for(
        "join",
        |e| matches!(&e.event, AppEvent::Stream(StreamEvent::Join(j)) if j.nick == "bo"),
    )
    .await;
    bo.post(&dev, "hi ana", "bo-1").await.unwrap();
    app.wait_message(&room.id, "hi ana").await;
    let unread = app
        .wait_for("unread", |e| {
            matches!(&e.event, AppEvent::Local(LocalEvent::Unread { .. }))
        })
        .await;
    assert!(matches!(
        unread.event,
        AppEvent::Local(LocalEvent::Unread {
            count: 1,
            total: 1,
            ..
        })
    ));
    app.desktop.set_active_room(Some(&room.id)).unwrap();
    app.wait_for("read", |e| {
        matches!(
            e.event,
            AppEvent::Local(LocalEvent::Unread {
                count: 0,
                total: 0,
                ..
            })
        )
    })
    .await;
    drop(bo_stream);
    app.wait_for(
        "leave",
        |e| matches!(&e.event, AppEvent::Stream(StreamEvent::Leave(l)) if l.nick == "bo"),
    )
    .await;

    // History and the room list go through the room's session.
    let texts: Vec<String> = app
        .desktop
        .rooms()
        .history(&room.id, None, Some(10))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["hello\nLAN", "hi ana"]);
    let err = app
        .desktop
        .rooms()
        .history(&room.id, Some("nope"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::BadInput(_)));
    let err = app
        .desktop
        .rooms()
        .history(&room.id, None, Some(501))
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::BadInput(_)));
    let listed = app.desktop.rooms().list(&room.id).await.unwrap();
    assert!(listed.iter().any(|r| r.room.as_str() == "dev"));
    let saved = app.desktop.rooms().saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].connection.name(), "connected");
    assert_eq!(copies(&bo, "dev", &queued.client_id).await, 1);

    // A page reload attaches a new sink: it catches up on state and presence.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let rooms = app.desktop.follow_rooms(std::sync::Arc::new(tx));
    assert_eq!(rooms.len(), 1);
    let first = rx.recv().await.unwrap();
    assert!(
        matches!(first.event, AppEvent::Local(LocalEvent::Connection(ref s)) if s.name() == "connected")
    );
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_on_one_server_share_a_session_and_forgetting_deletes_the_secret() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;

    let general = app
        .desktop
        .rooms()
        .join(JoinRequest::new(server.url("/"), "ana"))
        .await
        .unwrap()
        .room;
    assert_eq!(
        general.room.as_str(),
        "general",
        "the server's default room"
    );
    let dev = app
        .desktop
        .rooms()
        .join(JoinRequest {
            room: Some("dev".into()),
            ..JoinRequest::new(server.addr.to_string(), "ana")
        })
        .await
        .unwrap()
        .room;
    // One entry per room, and the nick password the app made for ana
    // there (the nick is protected with it).
    let nick_account = format!("nick {}/ ana", server.url(""));
    assert_eq!(secrets.accounts().len(), 3);
    assert_eq!(
        secrets.get(&nick_account).unwrap().map(|p| p.len()),
        Some(hearth_desktop::secrets::NICK_PASSWORD_LEN)
    );
    let token = |room: &str| -> Option<String> {
        let raw = secrets
            .get(&format!("{}/r/{room} ana", server.url("")))
            .unwrap()?;
        serde_json::from_str::<RoomSecret>(&raw).unwrap().token
    };
    assert_eq!(token("general"), token("dev"));
    app.wait_state(&dev.id, "connected").await;

    // Joining the same room again does not save it twice.
    let again = app
        .desktop
        .rooms()
        .join(JoinRequest::new(server.url("/r/dev"), "ana"))
        .await
        .unwrap();
    assert_eq!(again.room.id, dev.id);
    assert_eq!(app.desktop.rooms().saved().len(), 2);

    let bo = server.client("bo").await;
    bo.post(&RoomName::parse("dev").unwrap(), "in dev", "b1")
        .await
        .unwrap();
    bo.post(&RoomName::default_room(), "in general", "b2")
        .await
        .unwrap();
    app.wait_message(&dev.id, "in dev").await;
    app.wait_message(&general.id, "in general").await;

    app.desktop.forget_room(&dev.id).await.unwrap();
    assert_eq!(
        secrets.accounts(),
        [
            format!("{}/r/general ana", server.url("")),
            nick_account.clone()
        ]
    );
    let saved = app.desktop.rooms().saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].id, general.id);
    let err = app.desktop.forget_room(&dev.id).await.unwrap_err();
    assert!(matches!(err, CommandError::UnknownRoom));
    let err = app.desktop.outbox().enqueue(&dev.id, "gone").unwrap_err();
    assert!(matches!(err, CommandError::UnknownRoom));

    // The nick password stays: the nick is still protected with it there,
    // and joining again (or signing in elsewhere) needs it.
    app.desktop.forget_room(&general.id).await.unwrap();
    assert_eq!(secrets.accounts(), [nick_account]);
    let settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dirs.config().join(FILE_NAME)).unwrap()).unwrap();
    assert_eq!(settings["rooms"], serde_json::json!([]));
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_room_needs_the_password_and_keeps_it_in_the_keychain() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(data.path(), 0, |c| {
        c.password = Some(hearth_server::config::PasswordSetting::Plain(
            "sesame".into(),
        ));
        // The right password comes right after a wrong one here.
        c.password_backoff = std::time::Duration::ZERO;
    })
    .await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let rooms = app.desktop.rooms().clone();

    let probe = rooms.probe(&server.url("/"), None).await.unwrap();
    assert_eq!(probe.info.auth, AuthMode::Password);
    let err = rooms
        .join(JoinRequest::new(server.url("/"), "ana"))
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::PasswordRequired), "{err}");
    let err = rooms
        .join(JoinRequest {
            password: Some("wrong".into()),
            ..JoinRequest::new(server.url("/"), "ana")
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::SignInRefused(_)), "{err}");
    let err = rooms
        .join(JoinRequest {
            password: Some("sesame".into()),
            ..JoinRequest::new(server.url("/"), "")
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Nick must not be empty");
    assert!(rooms.saved().is_empty());

    let joined = rooms
        .join(JoinRequest {
            password: Some("sesame".into()),
            ..JoinRequest::new(server.url("/"), "ana")
        })
        .await
        .unwrap()
        .room;
    app.wait_state(&joined.id, "connected").await;
    let raw = secrets
        .get(&format!("{}/r/general ana", server.url("")))
        .unwrap()
        .unwrap();
    let secret: RoomSecret = serde_json::from_str(&raw).unwrap();
    assert_eq!(secret.password.as_deref(), Some("sesame"));
    assert!(
        !std::fs::read_to_string(dirs.config().join(FILE_NAME))
            .unwrap()
            .contains("sesame")
    );
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_app_restart_saved_rooms_resume_where_they_were() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let bo = server.client("bo").await;
    let dev = RoomName::parse("dev").unwrap();
    bo.post(&dev, "old news", "b0").await.unwrap();

    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app
        .desktop
        .rooms()
        .join(JoinRequest::new(server.url("/r/dev"), "ana"))
        .await
        .unwrap()
        .room;
    app.wait_message(&room.id, "old news").await; // the replay of a fresh start
    bo.post(&dev, "seen live", "b1").await.unwrap();
    app.wait_message(&room.id, "seen live").await;
    app.desktop.shutdown().await;
    drop(app);

    bo.post(&dev, "missed while away", "b2").await.unwrap();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let saved = app.desktop.rooms().saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].id, room.id);
    app.wait_state(&room.id, "connected").await;
    let first = app
        .wait_for("a message", |e| {
            matches!(e.event, AppEvent::Stream(StreamEvent::Message(_)))
        })
        .await;
    match first.event {
        AppEvent::Stream(StreamEvent::Message(m)) => assert_eq!(m.text, "missed while away"),
        _ => unreachable!(),
    }
    let ready = app
        .wait_for("ready", |e| {
            matches!(e.event, AppEvent::Stream(StreamEvent::Ready(_)))
        })
        .await;
    assert!(matches!(ready.event, AppEvent::Stream(StreamEvent::Ready(r)) if r.resumed));
    assert_eq!(
        app.desktop.rooms().saved()[0].unread,
        1,
        "missed messages are unread"
    );
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_renewed_by_signing_in_again() {
    let first = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(first.path(), 0).await;
    let port = server.addr.port();
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app
        .desktop
        .rooms()
        .join(JoinRequest::new(server.url("/"), "ana"))
        .await
        .unwrap()
        .room;
    app.wait_state(&room.id, "connected").await;
    let account = format!("{}/r/general ana", server.url(""));
    let old = secrets.get(&account).unwrap().unwrap();

    // The server comes back with another signing secret: old tokens are invalid.
    server.stop().await;
    app.wait_state(&room.id, "reconnecting").await;
    let second = tempfile::tempdir().unwrap();
    let server = TestServer::start(second.path(), port).await;
    app.wait_state(&room.id, "connected").await;
    assert_ne!(
        secrets.get(&account).unwrap().unwrap(),
        old,
        "a new token is kept"
    );

    let queued = app
        .desktop
        .outbox()
        .enqueue(&room.id, "after renewal")
        .unwrap();
    app.wait_message(&room.id, "after renewal").await;
    let bo = server.client("bo").await;
    assert_eq!(copies(&bo, "general", &queued.client_id).await, 1);
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_room_with_a_self_signed_certificate_joins_only_when_pinned() {
    use hearth_proto::CertFingerprint;
    use hearth_server::config::TlsFiles;

    let data = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let files = TlsFiles {
        cert: data.path().join("cert.pem"),
        key: data.path().join("key.pem"),
    };
    std::fs::write(&files.cert, made.cert.pem()).unwrap();
    std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
    let fingerprint = CertFingerprint::of_der(made.cert.der());
    let server =
        TestServer::start_with(&data.path().join("server"), 0, |c| c.tls = Some(files)).await;
    let address = format!("https://{}/r/dev", server.addr);
    let dirs = AppDirs::new();
    let mut app = TestApp::open(&dirs, &MemorySecrets::new()).await;
    let rooms = app.desktop.rooms();

    // Not pinned: refused, with what to do about it.
    let refused = rooms
        .join(JoinRequest::new(address.clone(), "ana"))
        .await
        .unwrap_err();
    let text = refused.to_string();
    assert!(
        matches!(refused, CommandError::Certificate { .. }),
        "{text}"
    );
    assert!(
        text.contains("not trusted") && text.contains("fingerprint"),
        "{text}"
    );
    // A fingerprint that is not one: refused before any connection.
    let bad = rooms
        .join(JoinRequest {
            fingerprint: Some("AB:CD".into()),
            ..JoinRequest::new(address.clone(), "ana")
        })
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("fingerprint"), "{bad}");
    assert!(rooms.saved().is_empty(), "nothing saved after a refusal");

    // Pinned (pasted in the lowercase, colon-less form): joins and follows.
    let pasted: String = fingerprint.to_string().to_lowercase().replace(':', "");
    let joined = rooms
        .join(JoinRequest {
            fingerprint: Some(pasted.clone()),
            ..JoinRequest::new(address.clone(), "ana")
        })
        .await
        .unwrap();
    app.wait_state(&joined.room.id, "connected").await;
    let mut guest =
        hearth_client::Client::new_pinned(&format!("https://{}", server.addr), Some(fingerprint))
            .unwrap();
    guest.sign_in("bo", None).await.unwrap();
    guest
        .post(&RoomName::parse("dev").unwrap(), "hello over https", "h-1")
        .await
        .unwrap();
    app.wait_message(&joined.room.id, "hello over https").await;
    let settings = std::fs::read_to_string(dirs.config().join(FILE_NAME)).unwrap();
    assert!(
        settings.contains(&fingerprint.to_string()),
        "the pin is saved"
    );
}

/// The next event of a view sink that `matches`, skipping others.
async fn next_in_view(
    view: &mut tokio::sync::mpsc::UnboundedReceiver<hearth_desktop::events::RoomEvent>,
    what: &str,
    matches: impl Fn(&AppEvent) -> bool,
) -> AppEvent {
    tokio::time::timeout(crate::support::WAIT, async {
        loop {
            let event = view.recv().await.expect("the view stays open").event;
            if matches(&event) {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what} in the view"))
}

fn is_message_or_ready(event: &AppEvent) -> bool {
    matches!(
        event,
        AppEvent::Stream(StreamEvent::Message(_) | StreamEvent::Ready(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_view_gets_its_catch_up_and_the_servers_ready_from_rust() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let bo = server.client("bo").await;
    let dev = RoomName::parse("dev").unwrap();
    bo.post(&dev, "old news", "b0").await.unwrap();

    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app
        .desktop
        .rooms()
        .join(JoinRequest::new(server.url("/r/dev"), "ana"))
        .await
        .unwrap()
        .room;
    app.wait_message(&room.id, "old news").await;
    bo.post(&dev, "seen live", "b1").await.unwrap();
    app.wait_message(&room.id, "seen live").await;
    app.desktop.shutdown().await;
    drop(app);

    // After a restart the view gets what the app had seen (read back from
    // the history), what it missed, then the server's ready: in order.
    bo.post(&dev, "missed while away", "b2").await.unwrap();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let (tx, mut view) = tokio::sync::mpsc::unbounded_channel();
    app.desktop
        .open_view(Arc::new(tx), std::slice::from_ref(&room.id));
    let mut texts = Vec::new();
    let ready = loop {
        match next_in_view(&mut view, "the catch-up", is_message_or_ready).await {
            AppEvent::Stream(StreamEvent::Message(m)) => texts.push(m.text),
            AppEvent::Stream(StreamEvent::Ready(r)) => break r,
            _ => unreachable!(),
        }
    };
    assert_eq!(texts, ["old news", "seen live", "missed while away"]);
    assert!(ready.resumed);
    assert_eq!(app.desktop.rooms().saved()[0].unread, 1);

    // A view opened later gets the same, from what Rust kept.
    let (tx, mut again) = tokio::sync::mpsc::unbounded_channel();
    app.desktop
        .open_view(Arc::new(tx), std::slice::from_ref(&room.id));
    let mut texts = Vec::new();
    while let AppEvent::Stream(StreamEvent::Message(m)) =
        next_in_view(&mut again, "the catch-up", is_message_or_ready).await
    {
        texts.push(m.text);
    }
    assert_eq!(texts, ["old news", "seen live", "missed while away"]);

    // A room with nothing in it: the server's fresh replay says so...
    let quiet = app
        .desktop
        .rooms()
        .join(JoinRequest {
            room: Some("quiet".into()),
            ..JoinRequest::new(server.url("/"), "ana")
        })
        .await
        .unwrap()
        .room;
    app.desktop
        .set_view_rooms(&[room.id.clone(), quiet.id.clone(), "forgotten".into()]);
    let quiet_ready = |e: &AppEvent| matches!(e, AppEvent::Stream(StreamEvent::Ready(r)) if r.room.as_str() == "quiet");
    let first = next_in_view(&mut again, "quiet's ready", quiet_ready).await;
    assert!(matches!(first, AppEvent::Stream(StreamEvent::Ready(r)) if !r.resumed));
    // ...but when the app restarts the stream itself (a room joined),
    // nothing was missed.
    app.desktop
        .rooms()
        .join(JoinRequest::new(server.url("/"), "ana"))
        .await
        .unwrap();
    let next = next_in_view(&mut again, "quiet's ready after a join", quiet_ready).await;
    assert!(matches!(next, AppEvent::Stream(StreamEvent::Ready(r)) if r.resumed));

    // The server's info, and one direct post and its repeat.
    let rooms = app.desktop.rooms();
    assert_eq!(rooms.info(&room.id).await.unwrap().auth, AuthMode::None);
    let posted = rooms.post_once(&room.id, "direct", "c-1").await.unwrap();
    assert!(!posted.repeated);
    let again = rooms.post_once(&room.id, "direct", "c-1").await.unwrap();
    assert!(again.repeated && again.message.id == posted.message.id);
    let err = rooms.post_once(&room.id, "  ", "c-2").await.unwrap_err();
    assert!(matches!(err, CommandError::Invalid(_)), "{err}");

    // Signing the connection in again gives a session and keeps following.
    let signed = rooms.sign_in_again(&room.id, None, None).await.unwrap();
    assert_eq!(signed.nick, "ana");
    app.wait_state(&room.id, "connected").await;
    app.desktop.shutdown().await;
}
