//! The benchmark message text: it carries a sequence number and the time it
//! was sent, and this module finds them again in whatever a server wraps
//! around the text on its `data:` line (Hearth's message JSON, the Flask
//! room's `[HH:MM:SS] user: text`, nchan's raw body).
//!
//! Format: `HB<seq>:<unix micros>:` padded with `x` to the requested size
//! (never truncated: a size smaller than the header gives the header alone).
//! Only ASCII letters, digits and `:` are used, so no JSON, form or SSE
//! escaping changes it.

use std::time::{SystemTime, UNIX_EPOCH};

use memchr::memmem;

/// The marker that starts the stamp.
const MARK: &[u8] = b"HB";

/// Microseconds since the Unix epoch (the clock both sides of a delivery
/// share: publisher and subscriber run in the same process).
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The text of message `seq`, sent at `sent_micros`, padded to `size` bytes.
pub fn encode(seq: u64, sent_micros: u64, size: usize) -> String {
    let mut text = format!("HB{seq}:{sent_micros}:");
    if text.len() < size {
        text.extend(std::iter::repeat_n('x', size - text.len()));
    }
    text
}

/// What a received line said about its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub seq: u64,
    pub sent_micros: u64,
}

/// Parses `digits` followed by `:` at the start of `bytes`; returns the value
/// and the number of bytes used (the `:` included).
fn number_then_colon(bytes: &[u8]) -> Option<(u64, usize)> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 || bytes.get(digits) != Some(&b':') {
        return None;
    }
    let mut value: u64 = 0;
    for &b in &bytes[..digits] {
        value = value * 10 + u64::from(b - b'0');
    }
    Some((value, digits + 1))
}

/// Finds the first well-formed stamp in `line`.
pub fn find(line: &[u8]) -> Option<Stamp> {
    for pos in memmem::find_iter(line, MARK) {
        let rest = &line[pos + MARK.len()..];
        let Some((seq, used)) = number_then_colon(rest) else {
            continue;
        };
        let Some((sent_micros, _)) = number_then_colon(&rest[used..]) else {
            continue;
        };
        return Some(Stamp { seq, sent_micros });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_to_the_requested_size() {
        let text = encode(17, 1_700_000_000_123_456, 64);
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("HB17:1700000000123456:xxx"));
        // Never truncated.
        assert_eq!(encode(1, 2, 3), "HB1:2:");
    }

    #[test]
    fn finds_the_stamp_in_every_peer_format() {
        let text = encode(42, 1_700_000_000_000_001, 64);
        let want = Some(Stamp {
            seq: 42,
            sent_micros: 1_700_000_000_000_001,
        });
        let hearth = format!(
            r#"data: {{"id":"1-0","room":"bench0","nick":"HBpub","text":"{text}","ts":"x","client_id":null}}"#
        );
        assert_eq!(find(hearth.as_bytes()), want);
        let flask = format!("data: [06:00:00] bench-pub-0: {text}");
        assert_eq!(find(flask.as_bytes()), want);
        let raw = format!("data: {text}");
        assert_eq!(find(raw.as_bytes()), want);
    }

    #[test]
    fn ignores_lines_without_a_stamp() {
        assert_eq!(find(b"data: 1"), None);
        assert_eq!(find(b"data: HB"), None);
        assert_eq!(find(b"data: HB12"), None);
        assert_eq!(find(b"data: HB12:"), None);
        assert_eq!(find(b"data: HB12:34"), None);
        assert_eq!(find(b"event: ready"), None);
        // A false start before the real stamp is skipped.
        assert_eq!(
            find(b"HBx HB3:4:"),
            Some(Stamp {
                seq: 3,
                sent_micros: 4
            })
        );
    }
}
