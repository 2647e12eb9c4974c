//! The small HTTP/1.1 client side the subscribers need, and nothing more:
//! where a URL points ([`Target`]), the request bytes of a `GET`, the
//! response head ([`parse_head`]) and the body framing (chunked, a
//! `Content-Length`, or until the connection closes; [`BodyDecoder`]).
//!
//! Subscribers read their sockets themselves (one task per connection, no
//! channel between a connection and its reader), which keeps the load
//! generator cheap: it shares the machine's CPU with the server it measures.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};

/// A URL resolved once: the socket address, and the parts a request needs.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// `host[:port]` as it goes in the `Host` header.
    pub host_header: String,
    /// Path and query, as it goes in the request line.
    pub path_and_query: String,
    /// `http://host:port`, for the session or login endpoint of the same
    /// server.
    pub origin: String,
}

impl Target {
    /// Parses an `http://` URL and resolves its host.
    pub async fn resolve(raw: &str) -> Result<Self> {
        let url = url::Url::parse(raw).with_context(|| format!("bad URL {raw}"))?;
        if url.scheme() != "http" {
            bail!("{raw}: only http:// URLs are supported");
        }
        let host = url
            .host_str()
            .with_context(|| format!("{raw}: no host"))?
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
            .await
            .with_context(|| format!("cannot resolve {host}"))?
            .next()
            .with_context(|| format!("{host} resolves to no address"))?;
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut path_and_query = url.path().to_string();
        if let Some(q) = url.query() {
            path_and_query.push('?');
            path_and_query.push_str(q);
        }
        Ok(Target {
            addr,
            origin: format!("http://{host_header}"),
            host_header,
            path_and_query,
        })
    }

    /// The bytes of an event-stream `GET` to this target, with extra header
    /// lines (`Name: value`).
    pub fn stream_request(&self, extra_headers: &[String]) -> Vec<u8> {
        let mut req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: hearth-bench\r\n",
            self.path_and_query, self.host_header
        );
        for h in extra_headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        req.into_bytes()
    }
}

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    /// Bytes of the buffer the head used (the body starts there).
    pub len: usize,
    pub framing: BodyDecoder,
}

/// Parses a response head from the start of `buf`: `Ok(None)` while it is
/// incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf).context("malformed response head")? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = resp.code.unwrap_or(0);
    let mut chunked = false;
    let mut length = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let value = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim() == "chunked");
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .context("bad Content-Length")?;
            length = Some(value);
        }
    }
    let framing = if chunked {
        BodyDecoder::Chunked(Chunked::default())
    } else if let Some(n) = length {
        BodyDecoder::Length(n)
    } else {
        BodyDecoder::UntilClose
    };
    Ok(Some(Head {
        status,
        len,
        framing,
    }))
}

/// How the body of a response is delimited, with the decoding state.
#[derive(Debug)]
pub enum BodyDecoder {
    Chunked(Chunked),
    /// Bytes left.
    Length(u64),
    UntilClose,
}

impl BodyDecoder {
    /// Feeds received bytes; calls `out` with each run of body bytes.
    /// Returns `Ok(true)` once the body is complete (the bytes after it are
    /// ignored).
    pub fn feed(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> Result<bool> {
        match self {
            BodyDecoder::Chunked(c) => c.feed(input, out),
            BodyDecoder::Length(left) => {
                let take = (*left).min(input.len() as u64) as usize;
                if take > 0 {
                    out(&input[..take]);
                }
                *left -= take as u64;
                Ok(*left == 0)
            }
            BodyDecoder::UntilClose => {
                if !input.is_empty() {
                    out(input);
                }
                Ok(false)
            }
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex size.
    #[default]
    Size,
    /// After the size: extensions or spaces, up to the line end.
    SizeRest,
    /// Saw `\r` after the size line; expecting `\n`.
    SizeLf,
    Data,
    /// After the data: expecting `\r\n`.
    DataCr,
    DataLf,
    /// After the last chunk: trailer lines up to an empty one.
    Trailer {
        at_line_start: bool,
    },
    Done,
}

/// The state of a chunked body (RFC 9112 section 7.1).
#[derive(Debug, Default)]
pub struct Chunked {
    state: ChunkState,
    size: u64,
    digits: u32,
}

impl Chunked {
    fn end_of_size_line(&mut self) -> Result<()> {
        if self.digits == 0 {
            bail!("chunk size line without a size");
        }
        self.state = if self.size == 0 {
            ChunkState::Trailer {
                at_line_start: true,
            }
        } else {
            ChunkState::Data
        };
        Ok(())
    }

    /// Feeds received bytes; see [`BodyDecoder::feed`].
    pub fn feed(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> Result<bool> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                ChunkState::Size => {
                    if let Some(d) = (b as char).to_digit(16) {
                        self.digits += 1;
                        if self.digits > 15 {
                            bail!("chunk size too large");
                        }
                        self.size = self.size * 16 + u64::from(d);
                    } else if b == b';' || b == b' ' || b == b'\t' {
                        self.state = ChunkState::SizeRest;
                    } else if b == b'\r' {
                        self.state = ChunkState::SizeLf;
                    } else if b == b'\n' {
                        self.end_of_size_line()?;
                    } else {
                        bail!("bad byte {b:#04x} in a chunk size");
                    }
                    i += 1;
                }
                ChunkState::SizeRest => {
                    if b == b'\n' {
                        self.end_of_size_line()?;
                    }
                    i += 1;
                }
                ChunkState::SizeLf => {
                    if b != b'\n' {
                        bail!("expected LF after a chunk size");
                    }
                    self.end_of_size_line()?;
                    i += 1;
                }
                ChunkState::Data => {
                    let take = self.size.min((input.len() - i) as u64) as usize;
                    out(&input[i..i + take]);
                    self.size -= take as u64;
                    i += take;
                    if self.size == 0 {
                        self.state = ChunkState::DataCr;
                    }
                }
                ChunkState::DataCr => {
                    match b {
                        b'\r' => self.state = ChunkState::DataLf,
                        b'\n' => self.next_chunk(),
                        _ => bail!("expected CRLF after chunk data"),
                    }
                    i += 1;
                }
                ChunkState::DataLf => {
                    if b != b'\n' {
                        bail!("expected LF after chunk data");
                    }
                    self.next_chunk();
                    i += 1;
                }
                ChunkState::Trailer { at_line_start } => {
                    match b {
                        b'\r' => {}
                        b'\n' if at_line_start => self.state = ChunkState::Done,
                        b'\n' => {
                            self.state = ChunkState::Trailer {
                                at_line_start: true,
                            }
                        }
                        _ => {
                            self.state = ChunkState::Trailer {
                                at_line_start: false,
                            }
                        }
                    }
                    i += 1;
                }
                ChunkState::Done => return Ok(true),
            }
        }
        Ok(self.state == ChunkState::Done)
    }

    fn next_chunk(&mut self) {
        self.state = ChunkState::Size;
        self.size = 0;
        self.digits = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(wire: &[u8], piece: usize) -> (Vec<u8>, bool) {
        let mut dec = BodyDecoder::Chunked(Chunked::default());
        let mut body = Vec::new();
        let mut done = false;
        for part in wire.chunks(piece) {
            done = dec.feed(part, &mut |b| body.extend_from_slice(b)).unwrap();
            if done {
                break;
            }
        }
        (body, done)
    }

    #[test]
    fn chunked_bodies_decode_whatever_the_read_boundaries() {
        let wire =
            b"7\r\nretry: \r\n1b;ext=1\r\ndata: {\"text\":\"HB1:2:xx\"}\n\n\r\n0\r\nX-T: 1\r\n\r\n";
        for piece in 1..wire.len() {
            let (body, done) = decode_in_pieces(wire, piece);
            assert_eq!(
                body, b"retry: data: {\"text\":\"HB1:2:xx\"}\n\n",
                "piece {piece}"
            );
            assert!(done, "piece {piece}");
        }
    }

    #[test]
    fn an_open_stream_is_not_done() {
        let (body, done) = decode_in_pieces(b"5\r\nhello\r\nA\r\n0123456789\r\n", 3);
        assert_eq!(body, b"hello0123456789");
        assert!(!done);
    }

    #[test]
    fn bad_chunk_framing_is_an_error() {
        let mut c = Chunked::default();
        assert!(c.feed(b"zz\r\n", &mut |_| {}).is_err());
        let mut c = Chunked::default();
        assert!(c.feed(b"\r\n", &mut |_| {}).is_err());
        let mut c = Chunked::default();
        assert!(c.feed(b"2\r\nabX", &mut |_| {}).is_err());
    }

    #[test]
    fn heads_give_status_and_framing() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n";
        let h = parse_head(head).unwrap().unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(&head[h.len..], b"5\r\n");
        assert!(matches!(h.framing, BodyDecoder::Chunked(_)));

        let h = parse_head(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 12\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.status, 401);
        assert!(matches!(h.framing, BodyDecoder::Length(12)));

        let h = parse_head(b"HTTP/1.1 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(matches!(h.framing, BodyDecoder::UntilClose));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nConte").unwrap().is_none());
    }

    #[tokio::test]
    async fn targets_split_a_url() {
        let t = Target::resolve("http://127.0.0.1:8989/api/rooms/bench0/events?replay=0")
            .await
            .unwrap();
        assert_eq!(t.addr.to_string(), "127.0.0.1:8989");
        assert_eq!(t.host_header, "127.0.0.1:8989");
        assert_eq!(t.path_and_query, "/api/rooms/bench0/events?replay=0");
        assert_eq!(t.origin, "http://127.0.0.1:8989");
        let req = String::from_utf8(t.stream_request(&["Cookie: a=b".into()])).unwrap();
        assert!(req.starts_with(
            "GET /api/rooms/bench0/events?replay=0 HTTP/1.1\r\nHost: 127.0.0.1:8989\r\n"
        ));
        assert!(req.ends_with("Cookie: a=b\r\n\r\n"));
    }
}
