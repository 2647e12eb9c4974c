//! Search over message text (`GET /api/search`, protocol v1.1), for both
//! backends.
//!
//! - this module: what a query is ([`SearchQuery`]: every whitespace-separated
//!   term must be a substring of the text, ignoring case and diacritics) and
//!   how text is folded for that ([`fold`]);
//! - [`index`]: the index itself, an SQLite FTS5 table with the `trigram`
//!   tokenizer, one row per live message (its folded current text), and the
//!   query that reads it. The embedded backend keeps the table in
//!   `hearth.db` and writes it in the same transaction as the log entry; the
//!   Redis backend keeps it in a node-local database ([`LocalIndex`]) fed by
//!   the relay.
//!
//! A trigram index cannot match a term shorter than three characters: such
//! terms are checked with `instr` on the folded text (a scan, newest rows
//! first, that stops at the page's limit).

pub mod index;

use hearth_proto::RoomName;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

pub use index::LocalIndex;

/// Which rooms a search looks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomScope {
    /// These rooms only (already checked as readable).
    Only(Vec<RoomName>),
    /// Every room that is not a direct-message room, and these DM rooms
    /// (the session's own).
    Public { dms: Vec<RoomName> },
}

impl RoomScope {
    /// Every room but the DM rooms.
    pub fn public() -> Self {
        RoomScope::Public { dms: Vec::new() }
    }
}

/// The longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Results per page without `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// The most results per page.
pub const MAX_LIMIT: usize = 100;

/// Text as search compares it: compatibility-decomposed (NFKD), lowercase,
/// without combining marks. `Café` and `CAFE` both fold to `cafe`; `ﬁ`
/// folds to `fi`, `ᵁ` to `u`; CJK text is unchanged. Decomposed before
/// lowercasing (a compatibility character may decompose to a capital) and
/// after (a lowercase letter may carry a mark, as `İ`'s does), so folding
/// folded text changes nothing.
pub fn fold(text: &str) -> String {
    text.nfkd()
        .flat_map(char::to_lowercase)
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// Why a query is refused (`400`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("q must not be empty")]
    Empty,
    #[error("q must be at most {MAX_QUERY_CHARS} characters")]
    TooLong,
}

/// A parsed query: its terms, folded, each to be found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<String>,
}

impl SearchQuery {
    /// Folds `q` and splits it at whitespace and control characters
    /// (folding keeps whitespace whitespace, drops lone combining marks, and
    /// may make a space of a spacing mark such as `¨`: no term holds one; a
    /// message's text holds no control characters but line breaks and tabs,
    /// so no term needs one); repeats are dropped.
    pub fn parse(q: &str) -> Result<Self, QueryError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut terms: Vec<String> = Vec::new();
        for term in fold(q).split(is_separator) {
            if !term.is_empty() && !terms.iter().any(|t| t == term) {
                terms.push(term.to_owned());
            }
        }
        if terms.is_empty() {
            return Err(QueryError::Empty);
        }
        Ok(SearchQuery { terms })
    }

    /// The folded terms.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Whether `text` holds every term (the rule the index applies; used to
    /// check a message's current text when the index may lag it).
    pub fn matches(&self, text: &str) -> bool {
        let folded = fold(text);
        self.terms.iter().all(|term| folded.contains(term.as_str()))
    }
}

/// Where `q` splits into terms.
pub fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_diacritics() {
        assert_eq!(fold("Café"), "cafe");
        assert_eq!(fold("CAFE\u{301}"), "cafe");
        assert_eq!(fold("Ärger über Öl"), "arger uber ol");
        assert_eq!(fold("ﬁne"), "fine");
        assert_eq!(fold("ᵁİ"), "ui");
        assert_eq!(fold("今天天气很好"), "今天天气很好");
    }

    #[test]
    fn queries_are_terms_that_must_all_match() {
        let q = SearchQuery::parse("  Cafe  crème ").unwrap();
        assert_eq!(q.terms(), ["cafe", "creme"]);
        assert!(q.matches("Crème brûlée at the CAFÉ"));
        assert!(!q.matches("just a café"));
        assert!(SearchQuery::parse("天气").unwrap().matches("今天天气很好"));
    }

    #[test]
    fn empty_and_long_queries_are_refused() {
        assert_eq!(SearchQuery::parse(""), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse(" \t "), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("\u{301}"), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("¨"), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("\0\u{7f}"), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("a\0bcd").unwrap().terms(), ["a", "bcd"]);
        assert!(SearchQuery::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            SearchQuery::parse(&"é".repeat(201)),
            Err(QueryError::TooLong)
        );
    }
}
