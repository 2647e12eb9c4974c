//! The client's people calls (protocol v1.1 "nicks", "dm", bans) against a
//! real server in this process: a refusal's `reason` (and a ban's
//! `until`), `current_session`, `open_dm`, `ban` / `bans` / `unban` (the
//! nick percent-encoded in the path), and a followed stream that the server
//! ends (`event: ended`) ending `follow` with `ClientError::Ended` instead
//! of reconnecting.

use futures::StreamExt;
use hearth_client::{Client, ClientError, Followed, RetryPolicy, StreamTarget};
use hearth_proto::RoomName;
use hearth_server::config::{Config, SyncMode};
use tempfile::TempDir;
use tokio::sync::oneshot;

struct Server {
    url: String,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.sync = SyncMode::Normal;
    config.admins = vec!["boss".into()];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(hearth_server::run(listener, config, async move {
        let _ = stopped.await;
    }));
    Server {
        url,
        _dir: dir,
        _stop: stop,
    }
}

async fn protected(server: &Server, nick: &str, password: &str) -> Client {
    let mut client = Client::new(&server.url).unwrap();
    let session = client
        .sign_in_protected(nick, None, Some(password))
        .await
        .unwrap();
    assert!(session.protected);
    client
}

#[tokio::test]
async fn people_calls_and_their_refusals() {
    let server = start().await;
    let boss = protected(&server, "boss", "the-boss-password").await;
    let ana = protected(&server, "ana", "anas-own-password").await;

    let me = boss.current_session().await.unwrap();
    assert_eq!(me.nick, "boss");
    assert!(me.protected && me.admin, "{me:?}");
    assert!(!ana.current_session().await.unwrap().admin);

    // Someone else's nick: refused, and the client says why.
    let mut impostor = Client::new(&server.url).unwrap();
    let refused = impostor.sign_in("ana", None).await.unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(refused.reason(), Some("nick_protected"));

    // DMs: the same room whoever asks; an unprotected nick is refused.
    let dm = ana.open_dm("boss").await.unwrap();
    assert_eq!(dm.nick, "boss");
    assert_eq!(boss.open_dm("ana").await.unwrap().room, dm.room);
    let mut plain = Client::new(&server.url).unwrap();
    plain.sign_in("cy", None).await.unwrap();
    let refused = ana.open_dm("cy").await.unwrap_err();
    assert_eq!(refused.reason(), Some("not_protected"), "{refused}");

    // Bans: admins only; a nick with a space is percent-encoded.
    let refused = ana.ban("cy", 60, None).await.unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(403));
    let ban = boss.ban("ana", 60, Some("spam")).await.unwrap();
    assert_eq!((ban.nick.as_str(), ban.by.as_str()), ("ana", "boss"));
    assert_eq!(ban.reason.as_deref(), Some("spam"));
    boss.ban("cy two", 15, None).await.unwrap();
    let mut banned: Vec<String> = boss
        .bans()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.nick)
        .collect();
    banned.sort();
    assert_eq!(banned, ["ana", "cy two"]);

    // A banned nick: refused with the reason and the end of the ban.
    let refused = ana.rooms().await.unwrap_err();
    assert_eq!(refused.reason(), Some("banned"), "{refused}");
    let ClientError::Status { until, .. } = &refused else {
        unreachable!()
    };
    assert_eq!(until.as_deref(), Some(ban.until.as_str()));

    boss.unban("cy two").await.unwrap();
    boss.unban("ana").await.unwrap();
    assert!(boss.bans().await.unwrap().is_empty());
    ana.rooms().await.unwrap();
}

/// The next item of a followed stream, or a failure after 20 s.
async fn next<S: futures::Stream<Item = Followed> + Unpin>(follow: &mut S) -> Option<Followed> {
    tokio::time::timeout(std::time::Duration::from_secs(20), follow.next())
        .await
        .expect("the stream answers")
}

#[tokio::test]
async fn a_stream_the_server_ends_ends_follow() {
    let server = start().await;
    let boss = protected(&server, "boss", "the-boss-password").await;
    let ana = protected(&server, "ana", "anas-own-password").await;
    let follow = ana.follow(
        StreamTarget::Rooms(vec![RoomName::default_room()]),
        None,
        RetryPolicy::default(),
    );
    let mut follow = Box::pin(follow);
    // Until the replay is done.
    loop {
        match next(&mut follow).await {
            Some(Followed::Event(received)) if received.event.name() == "ready" => break,
            Some(Followed::Connected | Followed::Event(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    boss.ban("ana", 60, Some("spam")).await.unwrap();
    let ended = loop {
        match next(&mut follow).await {
            Some(Followed::Failed(ClientError::Ended(ended))) => break ended,
            Some(Followed::Event(_)) => {}
            other => panic!("expected the end, got {other:?}"),
        }
    };
    assert_eq!(ended.reason, "banned");
    assert!(ended.until.is_some(), "{ended:?}");
    assert!(next(&mut follow).await.is_none(), "no reconnect");
}
