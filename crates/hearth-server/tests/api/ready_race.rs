//! Fresh streams raced against posts (issue 13): a stream opened without
//! `Last-Event-ID` while messages keep coming must replay every message
//! acknowledged (`201`) before it was asked for, say in `ready.last_id`
//! exactly the newest message it replayed, and then send live only what
//! is newer; so that a client resuming from that id gets every later
//! message once, and none it already has. (On Redis the fresh replay came
//! from the node's cache, which may be a moment behind Redis: it could end
//! before the newest acknowledged message, which then came live.)
//!
//! A few posters post as fast as they can while subscribers open fresh
//! streams over and over, each the moment a post is acknowledged. Each one
//! reads its replay up to `ready`, then either resumes at once from
//! `ready.last_id` or follows a few live messages first and resumes from
//! the last one; after the resume it takes one more live message. Every id
//! a round receives must be new to it and greater than the one before; each
//! replay must reach the newest id acknowledged before it was asked for;
//! and when the posting is over the ids of each round must be a run of the
//! room's history with no gap.
//!
//! On one node (the suite's backend), and on two nodes of one Redis with
//! every post going to node A while the fresh streams open on node B (whose
//! relay may be a moment behind A) and resume on either node. Both run on
//! more worker threads than the machine has cores, so that any task (a
//! relay, a handler, a client) can be held up at any point.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hearth_client::Client;
use hearth_proto::MessageId;
use hearth_server::config::{Backend, RedisConfig};
use tokio::sync::watch;

use crate::support::*;

/// The room every race runs in.
const ROOM: &str = "race";
/// Subscribers opening fresh streams at the same time.
const SUBSCRIBERS: usize = 8;
/// Fresh streams each subscriber opens.
const ROUNDS: usize = 30;
/// Posters posting at once, each as fast as it can.
const POSTERS: usize = 4;
/// Live messages a "follow live" round reads before it resumes.
const LIVE: usize = 3;

/// [`POSTERS`] tasks posting to [`ROOM`] until told to stop. Publishes the
/// newest id acknowledged (a `201` received) and how many were stored.
struct Posters {
    stop: Arc<AtomicBool>,
    /// `(stored, newest acknowledged id)`.
    acknowledged: watch::Receiver<(usize, Option<MessageId>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Posters {
    fn start(client: &Client) -> Posters {
        let stop = Arc::new(AtomicBool::new(false));
        let (record, acknowledged) = watch::channel((0, None));
        let record = Arc::new(record);
        let tasks = (0..POSTERS)
            .map(|_| {
                let (client, stop, record) = (client.clone(), stop.clone(), record.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let id = post(&client, ROOM, "p").await.id;
                        record.send_modify(|(stored, newest)| {
                            *stored += 1;
                            *newest = (*newest).max(Some(id));
                        });
                    }
                })
            })
            .collect();
        Posters {
            stop,
            acknowledged,
            tasks,
        }
    }

    /// Waits until at least `n` messages are stored.
    async fn wait_for(&mut self, n: usize) {
        let stored = self.acknowledged.wait_for(|(stored, _)| *stored >= n);
        tokio::time::timeout(WAIT, stored)
            .await
            .expect("the posters store messages")
            .expect("the posters run");
    }

    /// Stops posting; returns how many messages were stored.
    async fn finish(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("a poster does not fail");
        }
        self.acknowledged.borrow().0
    }
}

/// What one round of a subscriber received, in order.
struct Round {
    who: String,
    ids: Vec<MessageId>,
}

impl Round {
    /// Takes `id` as the round's next message: it must be greater than
    /// every id the round has had.
    fn receive(&mut self, id: MessageId, stage: &str) {
        if let Some(last) = self.ids.last() {
            assert!(
                id > *last,
                "{}: {stage} delivered {id} after {last}{}",
                self.who,
                if self.ids.contains(&id) {
                    " (twice)"
                } else {
                    ""
                },
            );
        }
        self.ids.push(id);
    }
}

/// One subscriber's rounds: fresh stream on `fresh_on`, resume on
/// `resume_on` (each a node's base URL, used in turn).
async fn subscriber(
    who: usize,
    token: String,
    fresh_on: Vec<String>,
    resume_on: Vec<String>,
    mut acknowledged: watch::Receiver<(usize, Option<MessageId>)>,
) -> Vec<Round> {
    // One client per node for the whole run: its connections are kept
    // alive, so a stream is asked for right after a post is acknowledged.
    let clients = |urls: Vec<String>| -> Vec<Client> {
        urls.iter()
            .map(|url| Client::new(url).unwrap().with_token(token.clone()))
            .collect()
    };
    let (fresh_on, resume_on) = (clients(fresh_on), clients(resume_on));
    let mut rounds = Vec::with_capacity(ROUNDS);
    for n in 0..ROUNDS {
        let mut round = Round {
            who: format!("subscriber {who}, round {n}"),
            ids: Vec::new(),
        };
        let fresh = &fresh_on[n % fresh_on.len()];
        // Ask the moment a post is acknowledged: the node that fans it out
        // may not have it yet.
        acknowledged.changed().await.expect("the posters run");
        let before = acknowledged.borrow_and_update().1;
        let mut events = open_room(fresh, ROOM, None).await;
        let (replay, ready, _) = read_start(&mut events).await;
        for message in &replay {
            round.receive(message.id, "the fresh replay");
        }
        assert!(
            !ready.resumed,
            "{}: a fresh start is not resumed",
            round.who
        );
        assert_eq!(
            ready.last_id,
            replay.last().map(|m| m.id),
            "{}: ready.last_id is the newest replayed message",
            round.who
        );
        assert!(
            ready.last_id >= before,
            "{}: the fresh replay ends at {:?}, before {before:?}, which was \
             acknowledged before the stream was asked for",
            round.who,
            ready.last_id,
        );
        // Resume at once from ready.last_id, or follow live a little first
        // and resume from the last live message.
        if (n / 2) % 2 == 1 {
            for _ in 0..LIVE {
                let message = next_message(&mut events).await;
                round.receive(message.id, "the live tail");
            }
        }
        drop(events);
        let Some(resume_from) = round.ids.last().copied() else {
            // Nothing stored yet when the round started: nothing to resume.
            rounds.push(round);
            continue;
        };
        let resumer = &resume_on[n % resume_on.len()];
        acknowledged.changed().await.expect("the posters run");
        let before = acknowledged.borrow_and_update().1;
        let mut events = open_room(resumer, ROOM, Some(&resume_from.to_string())).await;
        let (replay, ready, _) = read_start(&mut events).await;
        assert!(ready.resumed, "{}: resumes from {resume_from}", round.who);
        for message in &replay {
            round.receive(message.id, "the resumed replay");
        }
        assert_eq!(
            ready.last_id,
            round.ids.last().copied(),
            "{}: ready.last_id after the resume is the newest message it has",
            round.who
        );
        assert!(
            ready.last_id >= before,
            "{}: the resumed replay ends at {:?}, before {before:?}, which was \
             acknowledged before the stream was asked for",
            round.who,
            ready.last_id,
        );
        let message = next_message(&mut events).await;
        round.receive(message.id, "the live tail after the resume");
        rounds.push(round);
    }
    rounds
}

/// Races fresh streams against posts: `poster` posts; the subscribers open
/// fresh streams on `fresh_on` and resume on `resume_on`. Then checks every
/// round's ids against the room's history.
async fn race(poster: Client, fresh_on: Vec<String>, resume_on: Vec<String>) {
    let started = Instant::now();
    let token = poster.token().unwrap().to_owned();
    let mut posting = Posters::start(&poster);
    // A little history first, so the first rounds replay something.
    posting.wait_for(5).await;
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|who| {
            tokio::spawn(subscriber(
                who,
                token.clone(),
                fresh_on.clone(),
                resume_on.clone(),
                posting.acknowledged.clone(),
            ))
        })
        .collect();
    let mut rounds = Vec::new();
    for subscriber in subscribers {
        rounds.extend(subscriber.await.expect("the subscriber's checks hold"));
    }
    let stored = posting.finish().await;

    // Every round received a run of the history, without a gap.
    let history = whole_history(&poster, stored).await;
    let position: HashMap<MessageId, usize> =
        history.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for round in &rounds {
        let Some(first) = round.ids.first() else {
            continue;
        };
        let start = position[first];
        let expected = history
            .get(start..start + round.ids.len())
            .unwrap_or(&history[start..]);
        assert_eq!(
            round.ids, expected,
            "{}: received a run of the history",
            round.who
        );
    }
    eprintln!(
        "ready race: {} rounds over {stored} messages in {:?}",
        rounds.len(),
        started.elapsed()
    );
}

/// Every message id of [`ROOM`], oldest first (`stored` of them).
async fn whole_history(client: &Client, stored: usize) -> Vec<MessageId> {
    let mut ids = Vec::with_capacity(stored);
    let mut before = None;
    loop {
        let page = client
            .history(&room(ROOM), before, Some(500))
            .await
            .expect("history");
        let Some(oldest) = page.first() else { break };
        before = Some(oldest.id);
        ids.splice(0..0, page.iter().map(|m| m.id));
    }
    assert_eq!(ids.len(), stored, "the history holds every post");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fresh_streams_raced_against_posts_resume_exactly() {
    let server = TestServer::start_with(|config| config.max_streams_per_address = 0).await;
    let ana = server.signed_in("ana").await;
    let node = vec![server.url("")];
    race(ana, node.clone(), node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fresh_streams_on_another_node_raced_against_posts_resume_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(&dir.path().join("redis"));
    let secret = dir.path().join("cluster-secret.key");
    let a = node(&redis, &secret).await;
    let b = node(&redis, &secret).await;
    let ana = a.signed_in("ana").await;
    race(ana, vec![b.url("")], vec![b.url(""), a.url("")]).await;
}

/// A node of a cluster on `redis`, sharing `secret` with the others.
async fn node(redis: &RedisServer, secret: &Path) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.backend = Backend::Redis(RedisConfig::new(redis.url()));
    config.secret_file = Some(secret.to_path_buf());
    config.max_streams_per_address = 0;
    TestServer::start_in(dir, config).await
}
