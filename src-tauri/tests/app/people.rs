//! People (protocol v1.1 "nicks", "dm", bans) against real servers: the
//! app protects the nicks it signs in with (a nick password it makes and
//! keeps), so impostors are refused and a restart signs in with nothing
//! typed; a nick someone else protected is refused with a sentence and
//! accepted with its password; the host moderates its own server; DMs are
//! saved and count as mentions; a ban ends the app's session with `ended`.

use hearth_desktop::error::{CommandError, ErrorKind};
use hearth_desktop::events::{AppEvent, ConnectionState, LocalEvent};
use hearth_desktop::host::plan::HostStart;
use hearth_desktop::rooms::JoinRequest;
use hearth_desktop::secrets::{MemorySecrets, NICK_PASSWORD_LEN, RoomSecret, SecretStore};
use hearth_proto::StreamEvent;

use crate::support::{AppDirs, TestApp, TestServer, WAIT, client_at};

/// A client of `server` signed in as `nick`, protecting it with `password`.
async fn protected_client(
    server: &TestServer,
    nick: &str,
    password: &str,
) -> hearth_client::Client {
    let mut client = hearth_client::Client::new(&server.url("/")).unwrap();
    client
        .sign_in_protected(nick, None, Some(password))
        .await
        .expect("signs in protected");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_protects_its_nick_and_signs_in_again_with_nothing_typed() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    let nick_account = format!("nick {}/ ana", server.url(""));
    let kept = secrets
        .get(&nick_account)
        .unwrap()
        .expect("a nick password");
    assert_eq!(kept.len(), NICK_PASSWORD_LEN);

    let who = app.desktop.rooms().who_am_i(&room.id).await.unwrap();
    assert!(who.protected && !who.admin, "{who:?}");
    // Nobody else signs in as ana; her password does.
    let mut impostor = hearth_client::Client::new(&server.url("/")).unwrap();
    let refused = impostor.sign_in("ana", None).await.unwrap_err();
    assert_eq!(refused.reason(), Some("nick_protected"), "{refused}");
    assert_eq!(
        app.desktop.rooms().nick_password(&room.id).await.unwrap(),
        Some(kept.clone())
    );
    app.desktop.shutdown().await;
    drop(app);

    // A restart whose saved token is gone: the app signs in again with the
    // kept nick password, nothing typed.
    let account = format!("{}/r/general ana", server.url(""));
    secrets
        .set(
            &account,
            &serde_json::to_string(&RoomSecret::default()).unwrap(),
        )
        .unwrap();
    let mut app = TestApp::open(&dirs, &secrets).await;
    app.wait_state(&room.id, "connected").await;
    let who = app.desktop.rooms().who_am_i(&room.id).await.unwrap();
    assert!(who.protected, "{who:?}");
    assert_eq!(secrets.get(&nick_account).unwrap(), Some(kept));
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nick_protected_elsewhere_is_refused_and_its_password_accepted() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(data.path(), 0, |c| {
        c.password_backoff = std::time::Duration::ZERO;
    })
    .await;
    let _elsewhere = protected_client(&server, "cy", "cys-own-password").await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let app = TestApp::open(&dirs, &secrets).await;
    let rooms = app.desktop.rooms().clone();

    let err = rooms
        .join(JoinRequest::new(server.url("/"), "cy"))
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::NickProtected { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.to_string().contains("Pick another nick"), "{err}");
    assert!(
        !secrets.accounts().iter().any(|a| a.starts_with("nick ")),
        "the password made for the attempt is not kept: {:?}",
        secrets.accounts()
    );
    let err = rooms
        .join(JoinRequest {
            nick_password: Some("a-wrong-password".into()),
            ..JoinRequest::new(server.url("/"), "cy")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::WrongNickPassword { .. }),
        "{err}"
    );

    // The person's own password, from the other device: kept once it works.
    let joined = rooms
        .join(JoinRequest {
            nick_password: Some("cys-own-password".into()),
            ..JoinRequest::new(server.url("/"), "cy")
        })
        .await
        .unwrap();
    assert_eq!(
        rooms
            .nick_password(&joined.room.id)
            .await
            .unwrap()
            .as_deref(),
        Some("cys-own-password")
    );
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_is_an_admin_of_its_own_server() {
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let app = TestApp::open(&dirs, &secrets).await;
    let status = app
        .desktop
        .host_start(HostStart {
            nick: Some("hostess".into()),
            password: Some(String::new()),
            ..HostStart::default()
        })
        .await
        .unwrap();
    assert_eq!(status.warning, None);
    let room_id = status.room_id.expect("the host joined its room");
    let who = app.desktop.rooms().who_am_i(&room_id).await.unwrap();
    assert!(who.protected && who.admin, "{who:?}");
    assert!(
        secrets
            .get("nick hosted hostess")
            .unwrap()
            .is_some_and(|p| p.len() == NICK_PASSWORD_LEN)
    );
    // An admin may ban and list bans.
    let ban = app
        .desktop
        .rooms()
        .ban(&room_id, "troll", 60, Some("spam"))
        .await
        .unwrap();
    assert_eq!((ban.nick.as_str(), ban.by.as_str()), ("troll", "hostess"));
    let bans = app.desktop.rooms().bans(&room_id).await.unwrap();
    assert_eq!(bans.len(), 1);
    app.desktop.rooms().unban(&room_id, "troll").await.unwrap();
    assert!(app.desktop.rooms().bans(&room_id).await.unwrap().is_empty());
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_is_saved_and_counts_as_a_mention_and_a_ban_ends_the_session() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(data.path(), 0, |c| {
        c.admins = vec!["boss".into()];
    })
    .await;
    let boss = protected_client(&server, "boss", "the-boss-password").await;
    let bo = protected_client(&server, "bo", "bos-own-password").await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let general = app.join_connected(&server.url("/"), "ana").await;
    let rooms = app.desktop.rooms().clone();

    // Not an admin here.
    let err = rooms.ban(&general.id, "bo", 60, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden, "{err}");

    let dm = rooms.open_dm(&general.id, "bo").await.unwrap();
    assert!(dm.room.as_str().starts_with("dm-"), "{}", dm.room);
    assert_eq!(dm.nick, "bo");
    let saved = rooms.saved();
    let view = saved.iter().find(|r| r.id == dm.room_id).expect("saved");
    assert_eq!(view.dm.as_deref(), Some("bo"));
    assert_eq!(
        rooms.open_dm(&general.id, "bo").await.unwrap().room_id,
        dm.room_id
    );
    app.wait_state(&dm.room_id, "connected").await;

    bo.post(&dm.room, "just for you", "b1").await.unwrap();
    app.wait_for("the DM counted as a mention", |e| {
        e.room_id == dm.room_id
            && matches!(
                e.event,
                AppEvent::Local(LocalEvent::Unread {
                    count: 1,
                    mentions: 1,
                    ..
                })
            )
    })
    .await;

    boss.ban("ana", 60, Some("spam")).await.unwrap();
    let ended = app
        .wait_for("ended", |e| {
            e.room_id == general.id && matches!(e.event, AppEvent::Local(LocalEvent::Ended(_)))
        })
        .await;
    let AppEvent::Local(LocalEvent::Ended(ended)) = ended.event else {
        unreachable!()
    };
    assert_eq!(ended.reason, "banned");
    assert!(ended.until.is_some(), "{ended:?}");
    let state = app.wait_state(&general.id, "offline").await;
    assert!(
        matches!(
            state,
            ConnectionState::Offline {
                kind: ErrorKind::Forbidden,
                ..
            }
        ),
        "{state:?}"
    );
    let err = rooms.who_am_i(&general.id).await.unwrap_err();
    assert!(matches!(err, CommandError::Banned { .. }), "{err}");
    assert_eq!(err.reason(), Some("banned"));
    assert!(err.until().is_some());
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_kept_from_before_is_protected_when_the_app_starts() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path(), 0).await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    // What an app from before protected nicks kept: the room, and an
    // unprotected session of ana.
    let old = client_at(&server.url("/"), "ana").await;
    assert!(!old.current_session().await.unwrap().protected);
    std::fs::create_dir_all(dirs.config()).unwrap();
    let settings = serde_json::json!({"rooms": [
        {"id": "r1", "server": format!("{}/", server.url("")), "room": "general", "nick": "ana"}
    ]});
    std::fs::write(
        dirs.config().join("settings.json"),
        serde_json::to_vec(&settings).unwrap(),
    )
    .unwrap();
    let secret = RoomSecret {
        token: old.token().map(str::to_owned),
        password: None,
    };
    secrets
        .set(
            &format!("{}/r/general ana", server.url("")),
            &serde_json::to_string(&secret).unwrap(),
        )
        .unwrap();

    let mut app = TestApp::open(&dirs, &secrets).await;
    // Protecting ends the earlier sessions: the old token stops working.
    tokio::time::timeout(WAIT, async {
        while old.current_session().await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the nick is protected at start");
    let who = app.desktop.rooms().who_am_i("r1").await.unwrap();
    assert!(who.protected, "{who:?}");
    assert!(
        secrets
            .get(&format!("nick {}/ ana", server.url("")))
            .unwrap()
            .is_some()
    );
    // The app's own stream of the old session ended too, quietly: the
    // webview hears no `ended`, and the room is connected again.
    let bo = client_at(&server.url("/"), "bo").await;
    bo.post(&hearth_proto::RoomName::default_room(), "still here?", "b1")
        .await
        .unwrap();
    let first = app
        .wait_for("the message, or an ended", |e| {
            matches!(&e.event, AppEvent::Local(LocalEvent::Ended(_)))
                || matches!(&e.event, AppEvent::Stream(StreamEvent::Message(m)) if m.text == "still here?")
        })
        .await;
    assert!(
        matches!(first.event, AppEvent::Stream(StreamEvent::Message(_))),
        "{first:?}"
    );
    app.desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_nick_password_is_typed_once_and_kept_again() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(data.path(), 0, |c| {
        c.password_backoff = std::time::Duration::ZERO;
    })
    .await;
    let dirs = AppDirs::new();
    let secrets = MemorySecrets::new();
    let mut app = TestApp::open(&dirs, &secrets).await;
    let room = app.join_connected(&server.url("/"), "ana").await;
    let nick_account = format!("nick {}/ ana", server.url(""));
    let password = secrets.get(&nick_account).unwrap().unwrap();
    app.desktop.shutdown().await;
    drop(app);

    // The keychain lost everything (a new machine, say): the app cannot
    // sign ana in, and says why.
    for account in secrets.accounts() {
        secrets.delete(&account).unwrap();
    }
    let mut app = TestApp::open(&dirs, &secrets).await;
    let state = app.wait_state(&room.id, "offline").await;
    let ConnectionState::Offline { reason, kind } = state else {
        unreachable!()
    };
    assert_eq!(kind, ErrorKind::Unauthorized);
    assert!(reason.contains("The nick ana is protected"), "{reason}");
    assert_eq!(
        secrets.get(&nick_account).unwrap(),
        None,
        "no useless password kept"
    );

    // The person types it (from the browser, say) once; it is kept again.
    let signed = app
        .desktop
        .rooms()
        .sign_in_again(&room.id, None, Some(&password))
        .await
        .unwrap();
    assert!(signed.protected, "{signed:?}");
    app.wait_state(&room.id, "connected").await;
    assert_eq!(secrets.get(&nick_account).unwrap(), Some(password));
    app.desktop.shutdown().await;
}
