//! Several nodes on one Redis, and Redis faults. Each test starts its own
//! `redis-server` (AOF, `appendfsync always`: the documented setting) on a
//! free loopback port.
//!
//! The invariant checked under faults is the one users care about: every
//! message that got a `201` (or the `200` of a retry) reaches every
//! subscriber exactly once, in id order.

use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt;
use hearth_client::{Client, StreamTarget};
use hearth_proto::{Message, MessageId, StreamEvent};
use hearth_server::config::{Backend, RedisConfig};
use reqwest::StatusCode;
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::support::*;

/// Nodes of a [`Cluster`] that run as their own processes.
impl Cluster {
    /// A node as its own `hearth serve` process (so it can be SIGKILLed),
    /// with a presence TTL of 1 s, so its users leave soon after it dies.
    async fn child_node(&self, data: &TempDir) -> ChildServer {
        let url = self.redis.url();
        let secret = self.secret.display().to_string();
        ChildServer::start(
            data.path(),
            &[
                &NO_POST_LIMITS[..],
                &[
                    "--redis",
                    &url,
                    "--secret-file",
                    &secret,
                    "--presence-ttl",
                    "1s",
                ],
            ]
            .concat(),
        )
        .await
    }
}

/// A subscriber as a load balancer would move it: it follows `room` on one
/// node and, whenever its stream drops, opens it on the next node with the
/// last id it saw. Records every message id it receives (watchable, so a
/// test waits for arrivals, not for time); signals `ready` after each
/// `ready` event.
struct Subscriber {
    seen: watch::Receiver<Vec<MessageId>>,
    task: JoinHandle<()>,
}

impl Subscriber {
    fn start(
        nodes: Vec<String>,
        token: String,
        room_name: &str,
        ready: tokio::sync::mpsc::UnboundedSender<()>,
    ) -> Subscriber {
        let (record, seen) = watch::channel(Vec::new());
        let target = StreamTarget::Room(room(room_name));
        let task = tokio::spawn(async move {
            let mut last_id: Option<String> = None;
            let mut failed_in_a_row = 0;
            for node in nodes.iter().cycle() {
                let client = Client::new(node).unwrap().with_token(token.clone());
                let Ok(events) = client.open_stream(&target, last_id.as_deref()).await else {
                    // On to the next node at once; a client's pause once
                    // every node has refused.
                    failed_in_a_row += 1;
                    if failed_in_a_row % nodes.len() == 0 {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                };
                failed_in_a_row = 0;
                let mut events = Box::pin(events);
                while let Some(Ok(received)) = events.next().await {
                    match received.event {
                        StreamEvent::Message(m) => {
                            last_id = Some(m.id.to_string());
                            record.send_modify(|seen| seen.push(m.id));
                        }
                        StreamEvent::Ready(_) => {
                            let _ = ready.send(());
                        }
                        _ => {}
                    }
                }
            }
        });
        Subscriber { seen, task }
    }

    fn seen(&self) -> Vec<MessageId> {
        self.seen.borrow().clone()
    }

    /// Waits until it has seen every one of `ids`, failing after `deadline`.
    async fn wait_for_all(&self, i: usize, ids: &[MessageId], deadline: tokio::time::Instant) {
        let mut seen = self.seen.clone();
        let has_all = seen.wait_for(|seen| ids.iter().all(|id| seen.contains(id)));
        match tokio::time::timeout_at(deadline, has_all).await {
            Ok(result) => {
                result.expect("the subscriber runs");
            }
            Err(_) => {
                let seen = self.seen();
                panic!(
                    "subscriber {i} is missing {} of {} acknowledged messages",
                    ids.iter().filter(|id| !seen.contains(id)).count(),
                    ids.len()
                );
            }
        }
    }
}

/// Posts once, retrying with the same `client_id` (on the next node at
/// once, with a client's pause after each round of all nodes) until a node
/// acknowledges it. Counts the `503`s met on the way.
async fn post_until_acknowledged(
    nodes: &[String],
    token: &str,
    room_name: &str,
    text: &str,
    unavailable: &Mutex<usize>,
) -> Message {
    let client_id = hearth_client::new_client_id();
    for (attempt, node) in nodes.iter().cycle().enumerate() {
        assert!(attempt < 400, "{text} was never acknowledged");
        let client = Client::new(node).unwrap().with_token(token.to_owned());
        match client.post(&room(room_name), text, &client_id).await {
            Ok(posted) => return posted.message,
            Err(e) if e.is_retryable() => {
                if e.status() == Some(StatusCode::SERVICE_UNAVAILABLE) {
                    *unavailable.lock().unwrap() += 1;
                }
                if attempt % nodes.len() == nodes.len() - 1 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Err(e) => panic!("{text}: {e}"),
        }
    }
    unreachable!()
}

/// Waits until every subscriber has every acknowledged message, then checks
/// each got exactly those, once each, in id order.
///
/// Anything still in flight then would be a duplicate. So a last message,
/// posted on `node` once everyone has the rest, goes through the same
/// streams behind it: once everyone has that one too, nothing sent before
/// it is still on the way. It joins `acknowledged`.
async fn assert_everyone_got_exactly(
    subscribers: &[Subscriber],
    acknowledged: &mut Vec<Message>,
    node: &str,
    token: &str,
    room_name: &str,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let ids: Vec<MessageId> = acknowledged.iter().map(|m| m.id).collect();
    for (i, subscriber) in subscribers.iter().enumerate() {
        subscriber.wait_for_all(i, &ids, deadline).await;
    }
    let client = Client::new(node).unwrap().with_token(token.to_owned());
    acknowledged.push(post(&client, room_name, "the last one").await);
    let mut expected: Vec<MessageId> = acknowledged.iter().map(|m| m.id).collect();
    expected.sort();
    for (i, subscriber) in subscribers.iter().enumerate() {
        subscriber.wait_for_all(i, &expected, deadline).await;
    }
    for (i, subscriber) in subscribers.iter().enumerate() {
        assert_eq!(
            subscriber.seen(),
            expected,
            "subscriber {i}: every acknowledged message once, in id order"
        );
        subscriber.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_messages_resumes_presence_and_idempotency() {
    let cluster = Cluster::new();
    let a = cluster.node().await;
    let b = cluster.node().await;

    // One sign-in works on every node (the secret is shared).
    let ana_a = a.signed_in("ana").await;
    let ana_b = b.client().with_token(ana_a.token().unwrap());
    let bo_b = b.signed_in("bo").await;

    let mut bo_events = open_room(&bo_b, "general", None).await;
    let (_, _, presence) = read_start(&mut bo_events).await;
    assert_eq!(presence.online, vec!["bo"]);
    let mut ana_events = open_room(&ana_a, "general", None).await;
    let (_, _, presence) = read_start(&mut ana_events).await;
    assert_eq!(presence.online, vec!["ana", "bo"], "users of both nodes");
    match next_event(&mut bo_events).await.event {
        StreamEvent::Join(join) => assert_eq!(join.nick, "ana"),
        other => panic!("bo expected ana's join, got {other:?}"),
    }
    let listed = b.client().with_token(bo_b.token().unwrap()).rooms().await;
    let general = listed
        .unwrap()
        .into_iter()
        .find(|r| r.room.as_str() == "general")
        .expect("general listed");
    assert_eq!(general.online, 2, "/api/rooms counts both nodes' users");

    // Post on A: the subscriber on B gets it, once.
    let first = post(&ana_a, "general", "hello from A").await;
    assert_eq!(next_message(&mut bo_events).await, first);
    assert_eq!(next_message(&mut ana_events).await, first);

    // A retry of the same client_id on the other node: 200, the original,
    // and nothing new on any stream.
    let client_id = hearth_client::new_client_id();
    let original = ana_a
        .post(&room("general"), "only once", &client_id)
        .await
        .unwrap();
    assert!(original.created);
    let retried = ana_b
        .post(&room("general"), "only once", &client_id)
        .await
        .unwrap();
    assert!(!retried.created, "the retry on B answers 200");
    assert_eq!(retried.message, original.message);
    assert_eq!(next_message(&mut bo_events).await, original.message);
    assert_no_message_before_marker(&mut bo_events, &ana_a, "general").await;

    // Subscribe on A, drop, resume on B with the last id: exactly the
    // missed messages.
    let cy_a = a.signed_in("cy").await;
    let cy_b = b.client().with_token(cy_a.token().unwrap());
    let mut cy_events = open_room(&cy_a, "general", None).await;
    let (replay, _, _) = read_start(&mut cy_events).await;
    let last_seen = replay.last().expect("replayed").id;
    drop(cy_events);
    let missed = vec![
        post(&ana_a, "general", "missed one").await,
        post(&bo_b, "general", "missed two").await,
    ];
    let mut resumed = open_room(&cy_b, "general", Some(&last_seen.to_string())).await;
    let (replay, ready, _) = read_start(&mut resumed).await;
    assert!(ready.resumed);
    assert_eq!(replay, missed);

    // History reads the same on both nodes.
    let history_a = ana_a.history(&room("general"), None, None).await.unwrap();
    let history_b = ana_b.history(&room("general"), None, None).await.unwrap();
    assert_eq!(history_a, history_b);
    assert_eq!(history_a.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_no_acknowledged_message() {
    let cluster = Cluster::new();
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = cluster.child_node(&data_a).await;
    let b = cluster.child_node(&data_b).await;
    let nodes = vec![a.url(""), b.url("")];
    let mut ana = a.client();
    ana.sign_in("ana", None).await.unwrap();
    let token = ana.token().unwrap().to_owned();

    // A watcher on B, and a user who stays on A only (it dies with A).
    let watcher = b.client().with_token(token.clone());
    let mut watching = open_room(&watcher, "load", None).await;
    read_start(&mut watching).await;
    let mut ghost = a.client();
    ghost.sign_in("ghost", None).await.unwrap();
    let _ghost_stream = open_room(&ghost, "load", None).await;

    // Three subscribers start on A, one on B; each moves on a drop.
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let subscribers: Vec<Subscriber> = (0..4)
        .map(|i| {
            let mut order = nodes.clone();
            if i == 3 {
                order.reverse();
            }
            Subscriber::start(order, token.clone(), "load", ready_tx.clone())
        })
        .collect();
    for _ in 0..4 {
        tokio::time::timeout(WAIT, ready_rx.recv())
            .await
            .expect("every subscriber is streaming");
    }

    let unavailable = Mutex::new(0);
    let mut acknowledged = Vec::new();
    let mut a = Some(a);
    for i in 0..60 {
        if i == 20 {
            a.take().unwrap().kill_hard().await;
        }
        acknowledged.push(
            post_until_acknowledged(&nodes, &token, "load", &format!("m{i}"), &unavailable).await,
        );
    }
    assert_everyone_got_exactly(&subscribers, &mut acknowledged, &nodes[1], &token, "load").await;

    // The dead node's users leave within its presence TTL (1 s) and a
    // heartbeat.
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match next_event(&mut watching).await.event {
                StreamEvent::Leave(leave) if leave.nick == "ghost" => break,
                _ => {}
            }
        }
    })
    .await
    .expect("ghost leaves after its node died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_under_load_loses_and_duplicates_nothing() {
    let mut cluster = Cluster::new();
    let a = cluster.node().await;
    let b = cluster.node().await;
    let nodes = vec![a.url(""), b.url("")];
    let ana = a.signed_in("ana").await;
    let token = ana.token().unwrap().to_owned();

    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let subscribers: Vec<Subscriber> = (0..4)
        .map(|i| {
            let mut order = nodes.clone();
            if i % 2 == 1 {
                order.reverse();
            }
            Subscriber::start(order, token.clone(), "steady", ready_tx.clone())
        })
        .collect();
    for _ in 0..4 {
        tokio::time::timeout(WAIT, ready_rx.recv())
            .await
            .expect("every subscriber is streaming");
    }

    let unavailable = Mutex::new(0);
    let mut acknowledged = Vec::new();
    for i in 0..60 {
        if i == 20 {
            cluster.redis.kill();
        }
        if i == 24 {
            // A few posts met the outage (each retried until stored).
            cluster.redis.restart();
        }
        let node = [nodes[i % 2].clone(), nodes[(i + 1) % 2].clone()];
        if (20..24).contains(&i) {
            // While Redis is down nothing is acknowledged: a post fails.
            let client = Client::new(&node[0]).unwrap().with_token(token.clone());
            let refused = client
                .post(&room("steady"), "lost?", &hearth_client::new_client_id())
                .await
                .expect_err("no 201 without Redis");
            assert_eq!(refused.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
            continue;
        }
        acknowledged.push(
            post_until_acknowledged(&node, &token, "steady", &format!("s{i}"), &unavailable).await,
        );
    }
    assert_eq!(acknowledged.len(), 56);
    assert_everyone_got_exactly(&subscribers, &mut acknowledged, &nodes[0], &token, "steady").await;

    // Every acknowledged message is in the history (the AOF kept it).
    let history = ana.history(&room("steady"), None, Some(100)).await.unwrap();
    let mut expected = acknowledged.clone();
    expected.sort_by_key(|m| m.id);
    assert_eq!(history, expected);
}

#[tokio::test]
async fn a_node_started_while_redis_is_down_becomes_healthy_when_it_comes_up() {
    let dir = tempfile::tempdir().unwrap();
    // Reserve a port for Redis, and start the node before Redis.
    let mut redis = RedisServer::start(&dir.path().join("redis"));
    redis.kill();
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(&data);
    config.backend = Backend::Redis(RedisConfig::new(redis.url()));
    let node = TestServer::start_in(data, config).await;

    let health = http().get(node.url("/healthz")).send().await.unwrap();
    expect_error(
        health,
        StatusCode::SERVICE_UNAVAILABLE,
        "healthz without Redis",
    )
    .await;
    let ana = node.signed_in("ana").await;
    let refused = ana
        .post(&room("general"), "too early", "early-1")
        .await
        .expect_err("no 201 without Redis");
    assert_eq!(refused.status(), Some(StatusCode::SERVICE_UNAVAILABLE));

    redis.restart();
    let healthz = &node.url("/healthz");
    eventually("healthy once Redis is up", move || async move {
        let health = http().get(healthz).send().await.unwrap();
        (health.status() == StatusCode::OK).then_some(())
    })
    .await;

    let mut events = open_room(&ana, "general", None).await;
    let (replay, _, _) = read_start(&mut events).await;
    assert!(replay.is_empty(), "the refused post was not stored");
    let stored = post(&ana, "general", "now it works").await;
    assert_eq!(next_message(&mut events).await, stored);
    let errors = redis_errors(&node).await;
    assert!(errors > 0.0, "the outage was counted: {errors}");
    // The subscription is pinged every 3 s: the answers are understood and
    // the node stays subscribed (no new errors, still up). Once Redis has
    // had a ping on it, a message posted comes through that subscription
    // behind the answer: when it arrives, the node has handled the answer.
    let redis_conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("a connection to Redis");
    eventually("Redis has had a ping on the subscription", || {
        let mut conn = redis_conn.clone();
        async move { subscription_pinged(&mut conn).await.then_some(()) }
    })
    .await;
    let after_ping = post(&ana, "general", "after a ping").await;
    assert_eq!(next_message(&mut events).await, after_ping);
    assert_eq!(
        redis_errors(&node).await,
        errors,
        "no errors while Redis is up"
    );
    let metrics = metrics_text(&node).await;
    assert!(metrics.contains("hearth_redis_up 1"), "{metrics}");
}

/// Whether the last command on a subscribed connection (a node's relay) was
/// a PING, from Redis's `CLIENT LIST`.
async fn subscription_pinged(conn: &mut redis::aio::MultiplexedConnection) -> bool {
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(conn)
        .await
        .expect("CLIENT LIST");
    clients.lines().any(|client| {
        let fields: Vec<&str> = client.split(' ').collect();
        fields.contains(&"sub=1") && fields.contains(&"cmd=ping")
    })
}

async fn metrics_text(node: &TestServer) -> String {
    http()
        .get(node.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn redis_errors(node: &TestServer) -> f64 {
    metrics_text(node)
        .await
        .lines()
        .find_map(|l| l.strip_prefix("hearth_redis_errors_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("hearth_redis_errors_total on /metrics")
}

/// The room log across nodes: a change made on one node reaches the other
/// node's subscribers as a message does, each entry with its log id, and a
/// resume on the other node replays the changes it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_every_node_and_resume_across_nodes() {
    let cluster = Cluster::new();
    let a = cluster.node().await;
    let b = cluster.node().await;
    let ana_a = a.signed_in("ana").await;
    let ana_b = b.client().with_token(ana_a.token().unwrap());
    let bo_b = b.signed_in("bo").await;
    let bo_a = a.client().with_token(bo_b.token().unwrap());

    let mut bo_events = open_room(&bo_b, "general", None).await;
    read_start(&mut bo_events).await;
    let m = post(&ana_a, "general", "from A").await;
    assert_eq!(next_message(&mut bo_events).await, m);

    // Changed on either node, seen on B in order with distinct log ids.
    let edited = ana_a
        .edit(&room("general"), m.id, "from A, edited")
        .await
        .unwrap();
    bo_a.react(&room("general"), m.id, "👍").await.unwrap();
    // A repeat on the other node appends nothing.
    bo_b.react(&room("general"), m.id, "👍").await.unwrap();
    let mut ids = vec![m.id];
    for expected in ["edit", "reaction"] {
        let received = loop {
            let received = next_event(&mut bo_events).await;
            if !matches!(received.event, StreamEvent::Join(_) | StreamEvent::Leave(_)) {
                break received;
            }
        };
        assert_eq!(received.event.name(), expected);
        if let StreamEvent::Edit(got) = &received.event {
            assert_eq!(got, &edited);
        }
        ids.push(received.last_event_id.unwrap().parse().unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_no_message_before_marker(&mut bo_events, &ana_b, "general").await;

    // Resume on A from the message id (seen on B): the changes it missed.
    let mut resumed = open_room(&bo_a, "general", Some(&m.id.to_string())).await;
    let mut names = Vec::new();
    let ready = loop {
        match next_event(&mut resumed).await.event {
            StreamEvent::Ready(ready) => break ready,
            event => names.push(event.name()),
        }
    };
    assert!(ready.resumed);
    assert_eq!(names, ["edit", "reaction", "message"]);

    // Deleted on B: gone from history and fresh replays on both nodes.
    ana_b.delete(&room("general"), m.id).await.unwrap();
    for client in [&ana_a, &ana_b] {
        let history = client.history(&room("general"), None, None).await.unwrap();
        assert!(history.iter().all(|h| h.id != m.id));
    }
    let mut fresh = open_room(&bo_a, "general", None).await;
    let (replay, ready, _) = read_start(&mut fresh).await;
    assert!(replay.iter().all(|h| h.id != m.id));
    assert!(
        ready.last_id > replay.last().map(|r| r.id),
        "stands at the delete"
    );
}
