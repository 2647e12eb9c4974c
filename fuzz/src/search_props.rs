//! Properties of search (`hearth_server::search`) that the fuzz target
//! `search_query` checks. Shared like `server_props.rs`: the fuzz crate and
//! `crates/hearth-server/tests/fuzz_regressions.rs` both compile this file.
//!
//! Input: `<text>\xff<q>` (each lossily UTF-8); without `\xff` the whole
//! input is both. For every input:
//!
//! - `SearchQuery::parse(q)` never panics; it refuses exactly a `q` over 200
//!   characters (`TooLong`) or one with nothing but whitespace and marks
//!   after folding (`Empty`); its terms are non-empty, distinct, hold no
//!   whitespace or control character, and fold to themselves; `q` itself
//!   always matches;
//! - the index agrees with the rule: a message with `text`, put in a search
//!   index (the real FTS5 trigram table, through `LocalIndex`), is found by
//!   the query exactly when `SearchQuery::matches(text)` says so.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};

use hearth_proto::{Deleted, EntryKind, LogEntry, Message, MessageId, RoomName};
use hearth_server::search::{
    LocalIndex, MAX_QUERY_CHARS, QueryError, RoomScope, SearchQuery, fold, is_separator,
};

thread_local! {
    static INDEX: RefCell<Option<LocalIndex>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

fn next_id() -> MessageId {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        MessageId::new(id, 0)
    })
}

pub fn check_search_query(data: &[u8]) {
    let (text, q) = match data.iter().position(|b| *b == 0xff) {
        Some(at) => (
            String::from_utf8_lossy(&data[..at]).into_owned(),
            String::from_utf8_lossy(&data[at + 1..]).into_owned(),
        ),
        None => {
            let both = String::from_utf8_lossy(data).into_owned();
            (both.clone(), both)
        }
    };
    let parsed = SearchQuery::parse(&q);
    let chars = q.chars().count();
    let query = match parsed {
        Err(QueryError::TooLong) => {
            assert!(chars > MAX_QUERY_CHARS, "refused as too long: {q:?}");
            return;
        }
        Err(QueryError::Empty) => {
            assert!(chars <= MAX_QUERY_CHARS);
            assert!(
                fold(&q).split(is_separator).all(str::is_empty),
                "refused as empty: {q:?}"
            );
            return;
        }
        Ok(query) => query,
    };
    assert!(chars <= MAX_QUERY_CHARS, "accepted over the limit: {q:?}");
    let terms = query.terms();
    assert!(!terms.is_empty());
    for (i, term) in terms.iter().enumerate() {
        assert!(!term.is_empty());
        assert!(!term.chars().any(is_separator), "{term:?}");
        assert_eq!(&fold(term), term, "a term folds to itself");
        assert!(!terms[..i].contains(term), "a repeated term {term:?}");
    }
    assert!(query.matches(&q), "{q:?} does not match itself");

    INDEX.with(|index| {
        let mut index = index.borrow_mut();
        let index = index.get_or_insert_with(|| LocalIndex::open_temporary().expect("index"));
        let room = RoomName::default_room();
        let id = next_id();
        let message = Message::new(id, room.clone(), "ana".into(), text.clone(), None);
        index
            .apply_all(&[LogEntry {
                id,
                kind: EntryKind::Message(message),
            }])
            .expect("indexed");
        let hits = index
            .find(&query, &RoomScope::public(), None, 1)
            .expect("searched");
        let found = hits.first().is_some_and(|hit| hit.id == id);
        assert_eq!(
            found,
            !text.is_empty() && query.matches(&text),
            "index and rule disagree: text {text:?}, q {q:?}"
        );
        let gone = next_id();
        index
            .apply_all(&[LogEntry {
                id: gone,
                kind: EntryKind::Delete(Deleted { room, id }),
            }])
            .expect("removed");
    });
}
