//! Search on a large embedded store: fills a data dir with messages through
//! the embedded broker (as posts, so the search index is written exactly as
//! the server writes it), then times `Broker::search` (the work of
//! `GET /api/search` without HTTP: the index query and reading each hit's
//! current state) for several kinds of query.
//!
//! ```sh
//! cargo run --release -p hearth-server --example search_bench -- [DIR] [MESSAGES]
//! ```
//!
//! `DIR` (default: a temporary one) is reused when it already holds a
//! `hearth.db` (no fill then); `MESSAGES` defaults to 1 000 000, spread over
//! 100 rooms (10 000 each: the default retention). Texts are made by a
//! seeded generator, so every run makes the same store: 85 % English-like
//! (common words, some accented, pseudo-words), 15 % Chinese; the word
//! `xylophone` is in exactly one message in 100 000, all in `room-7`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hearth_proto::{MessageText, Nick, RoomName};
use hearth_server::broker::embedded::EmbeddedBroker;
use hearth_server::broker::{Broker, Post};
use hearth_server::config::{Config, SyncMode};
use hearth_server::search::{RoomScope, SearchQuery};
use tokio_util::sync::CancellationToken;

const ROOMS: usize = 100;
const RUNS: usize = 7;

const COMMON: &[&str] = &[
    "the", "a", "to", "and", "is", "it", "we", "you", "that", "for", "on", "in", "this", "with",
    "meeting", "today", "tomorrow", "build", "release", "lunch", "coffee", "please", "thanks",
    "ok", "yes", "no", "can", "will", "fix", "bug", "test", "deploy", "server", "review", "done",
];
const ACCENTED: &[&str] = &[
    "café", "naïve", "crème", "déjà", "über", "señor", "façade", "résumé",
];
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "tu", "ra", "po", "shi", "ven", "dor", "bel", "qui", "mar", "tos",
];
const CHINESE: &[&str] = &[
    "今天",
    "天气",
    "很好",
    "我们",
    "明天",
    "开会",
    "项目",
    "进展",
    "问题",
    "谢谢",
    "午饭",
    "代码",
    "测试",
    "发布",
    "服务器",
];

/// A small seeded generator (xorshift64*): the same store on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Skewed to the front of a list (roughly Zipf-like).
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        self.below(a + 1)
    }
}

fn text(rng: &mut Rng, n: usize) -> String {
    let mut text = sentence(rng);
    if n % 100_000 == 7 {
        text.push_str(" xylophone");
    }
    text
}

fn sentence(rng: &mut Rng) -> String {
    let mut words: Vec<String> = Vec::new();
    if rng.below(100) < 15 {
        for _ in 0..4 + rng.below(7) {
            words.push(CHINESE[rng.skewed(CHINESE.len())].to_owned());
        }
        return words.concat();
    }
    for _ in 0..5 + rng.below(16) {
        let roll = rng.below(100);
        words.push(if roll < 60 {
            COMMON[rng.skewed(COMMON.len())].to_owned()
        } else if roll < 63 {
            ACCENTED[rng.below(ACCENTED.len())].to_owned()
        } else {
            (0..2 + rng.below(2))
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect()
        });
    }
    words.join(" ")
}

async fn fill(broker: Arc<EmbeddedBroker>, messages: usize) {
    let rooms: Vec<RoomName> = (0..ROOMS)
        .map(|r| RoomName::parse(&format!("room-{r}")).unwrap())
        .collect();
    let nick = Nick::parse("bench").unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let posts: Vec<Post> = (0..messages)
        .map(|n| Post {
            room: rooms[n % ROOMS].clone(),
            nick: nick.clone(),
            text: MessageText::parse(&text(&mut rng, n)).unwrap(),
            session: "bench".into(),
            client_id: None,
            reply_to: None,
            files: Vec::new(),
        })
        .collect();
    let started = Instant::now();
    let mut done = 0usize;
    let mut stored = futures::stream::iter(posts)
        .map(|post| {
            let broker = broker.clone();
            async move { broker.post(post).await }
        })
        .buffer_unordered(512);
    while let Some(result) = stored.next().await {
        result.expect("post stored");
        done += 1;
        if done.is_multiple_of(100_000) {
            eprintln!("{done} messages in {:.0?}", started.elapsed());
        }
    }
    eprintln!(
        "filled {messages} messages in {:.1} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        messages as f64 / started.elapsed().as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let temp = tempfile::tempdir()?;
    let dir = args
        .next()
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| temp.path().to_owned(), PathBuf::from);
    let messages: usize = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let existing = dir.join("hearth.db").exists();
    let mut config = Config::new(&dir);
    config.sync = SyncMode::Normal;
    config.retention_per_room = (messages / ROOMS).max(10_000);
    let broker = Arc::new(EmbeddedBroker::open(&config, &CancellationToken::new())?);
    if existing {
        eprintln!("using the store in {}", dir.display());
    } else {
        fill(broker.clone(), messages).await;
    }
    let db = std::fs::metadata(dir.join("hearth.db"))?.len();
    println!(
        "store: {} ({:.0} MiB hearth.db)",
        dir.display(),
        db as f64 / 1048576.0
    );

    // The room the rare word is in (message numbers 7, 100 007, …).
    let one_room = [RoomName::parse("room-7").unwrap()];
    let cases: &[(&str, &str, Option<&[RoomName]>)] = &[
        ("common word", "the", None),
        ("common word, one room of 100", "the", Some(&one_room)),
        ("two common words", "meeting tomorrow", None),
        ("rare word (10 messages)", "xylophone", None),
        ("rare word, one room of 100", "xylophone", Some(&one_room)),
        ("accents folded", "CAFE", None),
        ("CJK, 2 characters", "天气", None),
        ("CJK, 4 characters", "天气很好", None),
        ("1 character, common", "a", None),
        ("1 character, absent (full scan)", "ж", None),
        ("2 characters, absent (full scan)", "жж", None),
        ("3+ characters, absent", "qqqzzz", None),
        ("multi-term, one short", "release x", None),
    ];
    println!();
    println!("| query | `q` | results | median | max |");
    println!("|---|---|---|---|---|");
    for (what, q, rooms) in cases {
        let query = SearchQuery::parse(q)?;
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut found = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let scope = match rooms {
                Some(rooms) => RoomScope::Only(rooms.to_vec()),
                None => RoomScope::public(),
            };
            found = broker.search(&query, &scope, None, 20).await?.len();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {what} | `{q}` | {found} | {:.1} ms | {:.1} ms |",
            times[RUNS / 2].as_secs_f64() * 1000.0,
            times[RUNS - 1].as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
