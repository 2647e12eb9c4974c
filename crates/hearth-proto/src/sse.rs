//! Server-Sent Events framing.
//!
//! [`encode_event`] is the one place a frame is written: `data` is split on
//! line breaks into several `data:` lines (the SSE way to carry a newline) and
//! line breaks in `event` or `id` are replaced by spaces, so no input can add a
//! field or an event to a frame. NUL in an `id` is replaced by a space too: a
//! client ignores an `id:` line that contains NUL. The server only ever passes
//! one-line JSON as data, so in practice every frame has exactly one `data:`
//! line.

use crate::RETRY_MS;

/// The comment a stream sends when it has been idle for a while.
pub const PING: &str = ": ping\n\n";

/// The first bytes of every Hearth stream: the reconnect delay.
pub fn retry_frame() -> String {
    format!("retry: {RETRY_MS}\n\n")
}

/// Appends a field line, replacing CR and LF in `value`.
fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    for c in value.chars() {
        out.push(if c == '\r' || c == '\n' { ' ' } else { c });
    }
    out.push('\n');
}

/// Appends the `id:` line of an event (without the rest of the frame). The
/// server writes this per subscriber where ids differ between streams.
pub fn encode_id(out: &mut String, id: &str) {
    // The SSE standard has a client ignore an `id:` value containing NUL, so
    // it would silently keep its previous last event id (found by the `sse`
    // fuzz target): NUL goes the way of CR and LF.
    if id.contains('\0') {
        push_field(out, "id", &id.replace('\0', " "));
    } else {
        push_field(out, "id", id);
    }
}

/// Appends `event:` and `data:` lines and the blank line that ends the frame.
pub fn encode_body(out: &mut String, event: Option<&str>, data: &str) {
    if let Some(event) = event {
        push_field(out, "event", event);
    }
    let mut rest = data;
    loop {
        match rest.find(['\r', '\n']) {
            Some(pos) => {
                push_field(out, "data", &rest[..pos]);
                let skip = if rest[pos..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = &rest[pos + skip..];
            }
            None => {
                push_field(out, "data", rest);
                break;
            }
        }
    }
    out.push('\n');
}

/// A whole frame: optional `id:`, optional `event:`, the data, a blank line.
pub fn encode_event(id: Option<&str>, event: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    if let Some(id) = id {
        encode_id(&mut out, id);
    }
    encode_body(&mut out, event, data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_event() {
        assert_eq!(
            encode_event(Some("1-0"), Some("message"), "{\"a\":1}"),
            "id: 1-0\nevent: message\ndata: {\"a\":1}\n\n"
        );
    }

    #[test]
    fn line_breaks_cannot_inject_fields_or_events() {
        let frame = encode_event(
            Some("1\r\nevent: evil"),
            Some("x\n\ndata: boom"),
            "a\r\n\r\nevent: evil\rb\nid: 9",
        );
        assert_eq!(
            frame,
            "id: 1  event: evil\nevent: x  data: boom\ndata: a\ndata: \ndata: event: evil\ndata: b\ndata: id: 9\n\n"
        );
        // Exactly one blank line, at the end: one event.
        assert_eq!(frame.matches("\n\n").count(), 1);
        assert!(frame.ends_with("\n\n"));
    }

    #[test]
    fn nul_cannot_void_an_id() {
        assert_eq!(
            encode_event(Some("1\0-0"), None, "x"),
            "id: 1 -0\ndata: x\n\n"
        );
    }
}
