//! Properties of `hearth-proto` that the fuzz targets `validation`, `ids` and
//! `sse` check, written once for two users:
//!
//! - the fuzz crate (`fuzz/src/lib.rs`), whose targets call `check_*` on every
//!   input libFuzzer makes;
//! - the regression tests (`crates/hearth-proto/tests/fuzz_regressions.rs`,
//!   `crates/hearth-server/tests/fuzz_regressions.rs`), which include this file
//!   with `#[path]` and call the same functions on every file under
//!   `fuzz/regressions/<target>/`, in a plain `cargo test` on stable.
//!
//! Every `check_*` takes one input's raw bytes and panics when a property
//! fails. Only `hearth-proto` and `serde_json` are used here.

#![allow(dead_code)]

use std::collections::BTreeMap;

use hearth_proto::sse;
use hearth_proto::{
    ClientId, Cursor, MAX_NICK_CHARS, MAX_TEXT_CHARS, MessageId, MessageText, Nick, RETRY_MS,
    RoomName, ValidationError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---------------------------------------------------------------------------
// validation

/// `validation`: the whole input (lossily UTF-8) through each of the four
/// parsers.
pub fn check_validation(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    check_room_name(&raw);
    check_nick(&raw);
    check_message_text_input(&raw);
    check_client_id(&raw);
}

/// Serializing a parsed value and deserializing it gives it back, and
/// deserializing the raw input as a JSON string agrees with `parse`.
fn check_serde<T>(raw: &str, parsed: &Result<T, ValidationError>)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(raw).expect("a string serializes");
    let via_serde = serde_json::from_str::<T>(&json);
    assert_eq!(
        via_serde.is_ok(),
        parsed.is_ok(),
        "serde and parse disagree"
    );
    if let Ok(value) = parsed {
        assert_eq!(&via_serde.unwrap(), value);
        let back = serde_json::to_string(value).expect("a value serializes");
        assert_eq!(&serde_json::from_str::<T>(&back).unwrap(), value);
    }
}

fn check_room_name(raw: &str) {
    let parsed = RoomName::parse(raw);
    // The rule, written out: ^[a-z0-9][a-z0-9_-]{0,63}$
    let expected = (1..=64).contains(&raw.len())
        && raw.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && (b == b'_' || b == b'-'))
        });
    assert_eq!(parsed.is_ok(), expected, "room name {raw:?}");
    match &parsed {
        Ok(room) => {
            assert_eq!(room.as_str(), raw);
            assert_eq!(RoomName::parse(room.as_str()).as_ref(), Ok(room));
        }
        Err(e) => assert_eq!(*e, ValidationError::RoomName),
    }
    check_serde(raw, &parsed);
}

fn check_nick(raw: &str) {
    let parsed = Nick::parse(raw);
    let trimmed = raw.trim();
    match &parsed {
        Ok(nick) => {
            let s = nick.as_str();
            assert_eq!(s, trimmed, "a nick is the input, trimmed");
            assert!(!s.is_empty());
            assert!(s.chars().count() <= MAX_NICK_CHARS);
            assert!(!s.chars().any(char::is_control), "control char in {s:?}");
            assert!(
                !s.chars().any(hearth_proto::validate::is_invisible),
                "invisible char in {s:?}"
            );
            assert_eq!(s.trim(), s, "whitespace at an end of {s:?}");
            assert_eq!(Nick::parse(s).as_ref(), Ok(nick), "re-parse");
        }
        Err(ValidationError::NickEmpty) => assert!(trimmed.is_empty()),
        Err(ValidationError::NickControl) => assert!(trimmed.chars().any(char::is_control)),
        Err(ValidationError::NickInvisible) => {
            assert!(trimmed.chars().any(hearth_proto::validate::is_invisible))
        }
        Err(ValidationError::NickTooLong) => {
            assert!(trimmed.chars().count() > MAX_NICK_CHARS)
        }
        Err(other) => panic!("Nick::parse gave {other:?}"),
    }
    check_serde(raw, &parsed);
}

/// What a valid message text is, whoever made it (also used by the
/// `legacy_form` target): 1 to `MAX_TEXT_CHARS` characters, no control
/// characters but LF and tab (so no CR at all), no trailing whitespace, and it
/// re-parses to itself.
pub fn check_message_text(text: &MessageText) {
    let s = text.as_str();
    assert!(!s.is_empty(), "empty text");
    assert!(s.chars().count() <= MAX_TEXT_CHARS, "text too long");
    assert!(
        !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
        "control character in {s:?}"
    );
    assert_eq!(s.trim_end(), s, "trailing whitespace in {s:?}");
    assert_eq!(MessageText::parse(s).as_ref(), Ok(text), "re-parse");
}

fn check_message_text_input(raw: &str) {
    let parsed = MessageText::parse(raw);
    // The normalization, written out: CRLF, then lone CR, become LF.
    let normalized: String = {
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\r' {
                chars.next_if_eq(&'\n');
                out.push('\n');
            } else {
                out.push(c);
            }
        }
        out
    };
    let expected = normalized.trim_end();
    match &parsed {
        Ok(text) => {
            check_message_text(text);
            assert_eq!(text.as_str(), expected, "text is the normalized input");
        }
        Err(ValidationError::TextEmpty) => assert!(expected.is_empty()),
        Err(ValidationError::TextControl) => assert!(
            expected
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        ),
        Err(ValidationError::TextTooLong(n)) => {
            assert_eq!(*n, expected.chars().count());
            assert!(*n > MAX_TEXT_CHARS);
        }
        Err(other) => panic!("MessageText::parse gave {other:?}"),
    }
    check_serde(raw, &parsed);
}

fn check_client_id(raw: &str) {
    let parsed = ClientId::parse(raw);
    let expected =
        (1..=128).contains(&raw.len()) && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
    assert_eq!(parsed.is_ok(), expected, "client id {raw:?}");
    if let Ok(id) = &parsed {
        assert_eq!(id.as_str(), raw);
        assert_eq!(ClientId::parse(id.as_str()).as_ref(), Ok(id));
    }
    check_serde(raw, &parsed);
}

// ---------------------------------------------------------------------------
// ids

/// `ids`: the whole input (lossily UTF-8) as a message id and as a cursor.
pub fn check_ids(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    check_message_id(&raw);
    check_cursor(&raw);
}

/// The id rule, written out: `<ms>-<seq>`, each 1 to 20 ASCII digits that fit
/// a `u64`.
fn reference_id(raw: &str) -> Option<(u64, u64)> {
    fn number(s: &str) -> Option<u64> {
        if (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    }
    let (ms, seq) = raw.split_once('-')?;
    Some((number(ms)?, number(seq)?))
}

fn check_message_id(raw: &str) {
    let parsed = raw.parse::<MessageId>();
    assert_eq!(
        parsed.as_ref().ok().map(|id| (id.ms, id.seq)),
        reference_id(raw),
        "message id {raw:?}"
    );
    let Ok(id) = parsed else { return };
    let shown = id.to_string();
    assert_eq!(shown, format!("{}-{}", id.ms, id.seq));
    assert_eq!(shown.parse::<MessageId>(), Ok(id), "Display round trip");
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(serde_json::from_str::<MessageId>(&json).unwrap(), id);
    // The successor is the next id in the (ms, seq) order, if there is one.
    match id.successor() {
        Some(next) => {
            assert!(next > id);
            let expected = if id.seq == u64::MAX {
                MessageId::new(id.ms + 1, 0)
            } else {
                MessageId::new(id.ms, id.seq + 1)
            };
            assert_eq!(next, expected);
        }
        None => assert_eq!(id, MessageId::new(u64::MAX, u64::MAX)),
    }
}

/// The cursor rule, written out: `room:id` parts joined by `,`, each room
/// at most once.
fn reference_cursor(raw: &str) -> Option<BTreeMap<String, (u64, u64)>> {
    let mut rooms = BTreeMap::new();
    for part in raw.split(',') {
        let (room, id) = part.split_once(':')?;
        RoomName::parse(room).ok()?;
        if rooms.insert(room.to_owned(), reference_id(id)?).is_some() {
            return None;
        }
    }
    Some(rooms)
}

fn check_cursor(raw: &str) {
    let parsed = raw.parse::<Cursor>();
    let expected = reference_cursor(raw);
    let got = parsed.as_ref().ok().map(|cursor| {
        cursor
            .iter()
            .map(|(room, id)| (room.as_str().to_owned(), (id.ms, id.seq)))
            .collect::<BTreeMap<_, _>>()
    });
    assert_eq!(got, expected, "cursor {raw:?}");
    let Ok(cursor) = parsed else { return };
    let shown = cursor.to_string();
    let written: Vec<String> = expected
        .unwrap()
        .iter()
        .map(|(room, (ms, seq))| format!("{room}:{ms}-{seq}"))
        .collect();
    assert_eq!(shown, written.join(","), "Display: sorted by room");
    assert_eq!(shown.parse::<Cursor>().as_ref(), Ok(&cursor), "round trip");
    for (room, id) in cursor.iter() {
        assert_eq!(cursor.get(room), Some(*id));
    }
}

// ---------------------------------------------------------------------------
// sse

/// `sse`: input `<flags><id>\xff<event>\xff<data>`. Bit 0 of the first byte
/// passes the id, bit 1 the event name (so ASCII `0`..`3` work as flags); the
/// rest is split at the first two `0xff` bytes (never part of UTF-8) and
/// decoded lossily.
pub fn check_sse(data: &[u8]) {
    let (flags, rest) = data.split_first().unwrap_or((&0, &[]));
    let mut parts = rest.splitn(3, |b| *b == 0xff);
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (id, event, body) = (next(), next(), next());
    let id = (flags & 1 != 0).then_some(id.as_str());
    let event = (flags & 2 != 0).then_some(event.as_str());
    check_sse_frame(id, event, &body);
}

/// One event as a spec-following parser dispatches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event_type: String,
    pub data: String,
    /// The event source's last event id when the event was dispatched.
    pub last_event_id: String,
}

/// What parsing a whole stream gave.
#[derive(Debug, Default)]
pub struct SseStream {
    pub events: Vec<SseEvent>,
    /// Every field line's name, in order (comments and blank lines left out).
    pub fields: Vec<String>,
    pub retry: Option<u64>,
    pub last_event_id: String,
}

/// An event stream parser written from the WHATWG HTML standard,
/// "9.2.6 Interpreting an event stream": lines end at CRLF, LF or CR; a blank
/// line dispatches; `:` starts a comment; a field's value loses one leading
/// space; `id` values containing NUL are ignored; an event with no data is not
/// dispatched; an unterminated last line and an undispatched event are
/// dropped at the end of the stream.
pub fn parse_sse(stream: &str) -> SseStream {
    let mut out = SseStream::default();
    let mut rest = stream.strip_prefix('\u{feff}').unwrap_or(stream);
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let ending = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + ending..];
        if line.is_empty() {
            out.last_event_id = id_buffer.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            out.events.push(SseEvent {
                event_type: if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut event_type)
                },
                data: std::mem::take(&mut data),
                last_event_id: out.last_event_id.clone(),
            });
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        out.fields.push(field.to_owned());
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                out.retry = value.parse().ok();
            }
            _ => {}
        }
    }
    out
}

/// `value` with every CR and LF replaced by a space: what the encoder makes
/// of an event name (and, with NUL also replaced, of an id).
fn one_line(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

/// The properties of one encoded frame.
pub fn check_sse_frame(id: Option<&str>, event: Option<&str>, data: &str) {
    let frame = sse::encode_event(id, event, data);

    // The split encoder the server uses for shared frames writes the same.
    let mut split = String::new();
    if let Some(id) = id {
        sse::encode_id(&mut split, id);
    }
    sse::encode_body(&mut split, event, data);
    assert_eq!(split, frame, "encode_id + encode_body != encode_event");

    // Shape: no CR anywhere (so no bare CR), one blank line, at the end.
    assert!(!frame.contains('\r'), "CR in frame {frame:?}");
    assert!(frame.ends_with("\n\n"), "unterminated frame {frame:?}");
    assert_eq!(
        frame.find("\n\n"),
        Some(frame.len() - 2),
        "blank line inside frame {frame:?}"
    );

    // The data as a client gets it: line breaks normalized to LF.
    let expected_data = data.replace("\r\n", "\n").replace('\r', "\n");
    let mut expected_fields = Vec::new();
    if id.is_some() {
        expected_fields.push("id".to_owned());
    }
    if event.is_some() {
        expected_fields.push("event".to_owned());
    }
    expected_fields.extend(expected_data.split('\n').map(|_| "data".to_owned()));
    let expected_type = match event.map(one_line) {
        Some(name) if !name.is_empty() => name,
        _ => "message".to_owned(),
    };
    let expected_id = id
        .map(|id| one_line(id).replace('\0', " "))
        .unwrap_or_default();

    let parsed = parse_sse(&frame);
    assert_eq!(parsed.fields, expected_fields, "fields of {frame:?}");
    assert_eq!(
        parsed.events,
        vec![SseEvent {
            event_type: expected_type,
            data: expected_data,
            last_event_id: expected_id,
        }],
        "events of {frame:?}"
    );
    assert_eq!(parsed.retry, None);

    // In a stream: after the retry frame and between pings, frame after frame.
    let stream = format!("{}{frame}{}{frame}", sse::retry_frame(), sse::PING);
    let parsed_stream = parse_sse(&stream);
    assert_eq!(parsed_stream.retry, Some(RETRY_MS));
    assert_eq!(parsed_stream.events.len(), 2);
    assert!(parsed_stream.events.iter().all(|e| *e == parsed.events[0]));
}
