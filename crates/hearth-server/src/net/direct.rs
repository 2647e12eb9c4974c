//! Event streams written straight to the socket, past hyper's buffers.
//!
//! hyper gives every HTTP/1 connection an 8 KiB read buffer and an 8 KiB
//! write buffer for the connection's whole life (neither can be made
//! smaller), and that was most of what an idle event stream cost
//! (`docs/BENCHMARKS.md`). So on plain HTTP the accept loop reads a
//! connection's first request head itself ([`read_first_request`]):
//!
//! - a `GET` of an event-stream route ([`crate::routes::is_event_stream`])
//!   still goes through the one router (authentication, limits, errors are
//!   the same code), and [`serve_stream`] writes the answer: the head, then
//!   the body as HTTP/1.1 chunks straight from the broker's shared frames,
//!   with no buffer of its own. Frames that are ready together go out as one
//!   chunk in one `writev`, and the head goes out in the same `writev` as
//!   the frames ready when the stream opens (its `retry`, a resume's replay,
//!   `ready`): a new stream costs one loopback-or-network write, not two,
//!   which was a third of what connecting (or a reconnect storm's resume)
//!   cost the server. A client that hangs up is noticed at once (the
//!   socket is watched for end-of-file), and one whose socket stays full for
//!   the write-stall timeout is cut off. The connection closes when the
//!   stream ends (`Connection: close`); a client reconnects and resumes;
//! - anything else goes to hyper, with the bytes already read put back in
//!   front of the socket ([`Prefixed`]).
//!
//! TLS connections are served by hyper alone.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, BodyDataStream};
use axum::http::{
    HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version, header,
};
use bytes::{Bytes, BytesMut};
use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::metrics::Metrics;
use crate::routes;

/// A first request head longer than this goes to hyper (which answers it).
const MAX_HEAD_BYTES: usize = 8192;
const MAX_HEADERS: usize = 64;
/// At most this many ready frames, or about this many bytes, per write.
const MAX_BATCH_FRAMES: usize = 64;
const MAX_BATCH_BYTES: usize = 64 * 1024;
/// The chunk that ends a chunked body.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
/// Largest non-stream answer (an error) collected here.
const MAX_PLAIN_BODY: usize = 1 << 20;

/// What a connection's first request turned out to be.
pub enum FirstRequest {
    /// A `GET` of an event-stream route, for [`serve_stream`] (boxed: it
    /// lives only until the stream is opened).
    Stream(Box<Request<Body>>),
    /// Anything else: the bytes read so far, for hyper.
    Other(Bytes),
    /// The client went away, or did not send its head in time.
    Gone,
}

/// Reads the first request head from `stream` within `timeout`.
pub async fn read_first_request(stream: &mut TcpStream, timeout: Duration) -> FirstRequest {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buffer = BytesMut::with_capacity(1024);
    loop {
        if buffer.len() >= MAX_HEAD_BYTES {
            return FirstRequest::Other(buffer.freeze());
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut buffer)).await {
            Err(_) | Ok(Err(_)) | Ok(Ok(0)) => return FirstRequest::Gone,
            Ok(Ok(_)) => {}
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Request::new(&mut headers);
        match head.parse(&buffer) {
            Ok(httparse::Status::Partial) => continue,
            Ok(httparse::Status::Complete(length)) => {
                // Bytes after the head (a body, a pipelined request) are
                // hyper's to handle.
                let request = (length == buffer.len())
                    .then(|| stream_request(&head))
                    .flatten();
                return match request {
                    Some(request) => FirstRequest::Stream(Box::new(request)),
                    None => FirstRequest::Other(buffer.freeze()),
                };
            }
            // hyper answers malformed heads with the right status.
            Err(_) => return FirstRequest::Other(buffer.freeze()),
        }
    }
}

/// The request, if `head` is a plain `GET` of an event-stream route.
fn stream_request(head: &httparse::Request<'_, '_>) -> Option<Request<Body>> {
    if head.method != Some("GET") || head.version != Some(1) {
        return None;
    }
    let target = head.path?;
    let path = target.split('?').next().unwrap_or_default();
    if !routes::is_event_stream(path) {
        return None;
    }
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(target.parse::<Uri>().ok()?)
        .version(Version::HTTP_11);
    for field in head.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        // A request with a body, or one that asks for something else than
        // a plain answer, is hyper's.
        if name == header::TRANSFER_ENCODING
            || name == header::EXPECT
            || name == header::UPGRADE
            || (name == header::CONTENT_LENGTH && field.value != b"0")
        {
            return None;
        }
        request = request.header(name, HeaderValue::from_bytes(field.value).ok()?);
    }
    request.body(Body::empty()).ok()
}

/// Answers `request` through `router` on `stream`, then closes it.
pub fn serve_stream(
    stream: TcpStream,
    request: Box<Request<Body>>,
    router: Router,
    write_stall_timeout: Duration,
    metrics: Arc<Metrics>,
) -> impl Future<Output = ()> + Send + 'static {
    // The writer is made here, not in the future: an async fn keeps its
    // arguments for its whole life, so the stream's task would hold the
    // socket twice.
    let writer = Writer {
        stream,
        stall_timeout: write_stall_timeout,
        metrics,
    };
    answer(writer, request, router)
}

async fn answer(writer: Writer, request: Box<Request<Body>>, router: Router) {
    let Ok(response) = Box::pin(router.oneshot(*request)).await;
    let (head, body, is_stream) = response_head(response);
    let result = if is_stream {
        writer.stream_body(head, body).await
    } else {
        // Boxed: a stream's task need not carry room for an error's body.
        Box::pin(writer.plain_body(head, body)).await
    };
    if let Err(e) = result {
        tracing::debug!(cause = %e, "event stream connection ended");
    }
}

/// The head of `response` (up to its framing headers), its body, and
/// whether it is an event stream. Not async: an async fn would keep the
/// response's parts in every stream's task, for the stream's whole life.
fn response_head(response: Response<Body>) -> (Vec<u8>, Body, bool) {
    let (parts, body) = response.into_parts();
    let is_stream = parts.status == StatusCode::OK
        && parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .as_bytes(),
    );
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if [
            header::CONNECTION,
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
        ]
        .contains(name)
        {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"date: ");
    head.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\nconnection: close\r\n");
    (head, body, is_stream)
}

/// Writes to a socket, cutting off a client that stops reading.
struct Writer {
    stream: TcpStream,
    stall_timeout: Duration,
    metrics: Arc<Metrics>,
}

/// Why a stream's socket became readable.
enum Readable {
    /// The client hung up.
    HungUp,
    /// Bytes after the request (ignored), or a spurious wake-up.
    Other,
}

impl Writer {
    /// Writes the head and all of `body` (an error, not a stream).
    async fn plain_body(&self, mut head: Vec<u8>, body: Body) -> io::Result<()> {
        let content = axum::body::to_bytes(body, MAX_PLAIN_BODY)
            .await
            .unwrap_or_default();
        head.extend_from_slice(format!("content-length: {}\r\n\r\n", content.len()).as_bytes());
        self.write_all(&mut [IoSlice::new(&head), IoSlice::new(&content)])
            .await
    }

    /// Writes the head and then every frame of `body` as chunks, until the
    /// body ends or the client goes.
    async fn stream_body(&self, mut head: Vec<u8>, body: Body) -> io::Result<()> {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
        let mut frames = body.into_data_stream();
        // The head and the frames ready already, in one write (in a block:
        // what it borrows is not kept while the stream idles).
        {
            let mut opening = Vec::new();
            let finished = take_ready(&mut frames, &mut opening);
            self.write_chunk(&head, &opening).await?;
            if finished {
                return self.write_chunk(LAST_CHUNK, &[]).await;
            }
        }
        drop(head);
        loop {
            // The socket's read readiness is polled in place (no future of
            // its own to keep for the stream's life).
            let first = tokio::select! {
                biased;
                frame = frames.next() => match frame {
                    Some(Ok(bytes)) => bytes,
                    Some(Err(_)) | None => break,
                },
                why = std::future::poll_fn(|cx| self.poll_readable(cx)) => match why? {
                    Readable::HungUp => return Ok(()),
                    Readable::Other => continue,
                },
            };
            // Whatever else is ready goes in the same chunk.
            let Some(second) = ready_now(&mut frames) else {
                self.write_chunk(&[], std::slice::from_ref(&first)).await?;
                continue;
            };
            let mut finished = second.is_none();
            let mut batch = vec![first];
            batch.extend(second);
            if !finished {
                finished = take_ready(&mut frames, &mut batch);
            }
            self.write_chunk(&[], &batch).await?;
            if finished {
                break;
            }
        }
        self.write_chunk(LAST_CHUNK, &[]).await
    }

    /// Ready when the socket turns readable, with the reason (a read that
    /// would block clears the readiness, so the next poll waits again).
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<Readable>> {
        if let Err(e) = std::task::ready!(self.stream.poll_read_ready(cx)) {
            return Poll::Ready(Err(e));
        }
        let mut scratch = [0u8; 64];
        Poll::Ready(match self.stream.try_read(&mut scratch) {
            Ok(0) => Ok(Readable::HungUp),
            Ok(_) => Ok(Readable::Other),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Readable::Other),
            Err(e) => Err(e),
        })
    }

    /// Writes `head` (the response head, or nothing) and then `frames` as
    /// one chunk (none when there are no frames), in one write when the
    /// socket takes it. What a full socket does not take is copied and
    /// written by a boxed future: a stream's task keeps no room for writing
    /// while it idles.
    async fn write_chunk(&self, head: &[u8], frames: &[Bytes]) -> io::Result<()> {
        match self.try_write_chunk(head, frames)? {
            None => Ok(()),
            Some(rest) => Box::pin(self.write_rest(rest)).await,
        }
    }

    /// Writes what a full socket did not take.
    async fn write_rest(&self, rest: Vec<u8>) -> io::Result<()> {
        self.write_all(&mut [IoSlice::new(&rest)]).await
    }

    /// Writes what the socket takes of the chunk now; the rest, if any.
    fn try_write_chunk(&self, head: &[u8], frames: &[Bytes]) -> io::Result<Option<Vec<u8>>> {
        let mut size_line = [0u8; 18];
        let size_line = chunk_size_line(frames.iter().map(Bytes::len).sum(), &mut size_line);
        match frames {
            [] => return self.try_write_all(&mut [IoSlice::new(head)]),
            // The usual case (one event, no head): no list to allocate.
            [frame] if head.is_empty() => {
                return self.try_write_all(&mut [
                    IoSlice::new(size_line),
                    IoSlice::new(frame),
                    IoSlice::new(b"\r\n"),
                ]);
            }
            _ => {}
        }
        let mut slices = Vec::with_capacity(frames.len() + 3);
        if !head.is_empty() {
            slices.push(IoSlice::new(head));
        }
        slices.push(IoSlice::new(size_line));
        slices.extend(frames.iter().map(|f| IoSlice::new(f)));
        slices.push(IoSlice::new(b"\r\n"));
        self.try_write_all(&mut slices)
    }

    /// Writes `slices` until the socket would block; what is left then.
    fn try_write_all(&self, mut slices: &mut [IoSlice<'_>]) -> io::Result<Option<Vec<u8>>> {
        while !slices.is_empty() {
            match self.stream.try_write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => IoSlice::advance_slices(&mut slices, written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Some(
                        slices.iter().flat_map(|s| s.iter().copied()).collect(),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Writes every byte of `slices`; fails with `TimedOut` once the socket
    /// has taken nothing for the stall timeout.
    async fn write_all(&self, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
        while !slices.is_empty() {
            match self.stream.try_write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => IoSlice::advance_slices(&mut slices, written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Boxed: only a full socket needs the timer, and every
                    // stream's task would otherwise carry its room.
                    let writable = Box::pin(tokio::time::timeout(
                        self.stall_timeout,
                        self.stream.writable(),
                    ))
                    .await;
                    match writable {
                        Ok(ready) => ready?,
                        Err(_) => {
                            self.metrics.connections_stalled.inc();
                            return Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "the client stopped reading",
                            ));
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Adds the frames `frames` has ready now to `batch`, up to the batch
/// limits; `true` when the body ended (or failed).
fn take_ready(frames: &mut BodyDataStream, batch: &mut Vec<Bytes>) -> bool {
    let mut bytes: usize = batch.iter().map(Bytes::len).sum();
    while batch.len() < MAX_BATCH_FRAMES && bytes < MAX_BATCH_BYTES {
        match ready_now(frames) {
            Some(Some(frame)) => {
                bytes += frame.len();
                batch.push(frame);
            }
            Some(None) => return true,
            None => break,
        }
    }
    false
}

/// The next frame if the body has one ready now: `Some(None)` when it ended
/// (or failed), `None` when nothing is ready.
fn ready_now(frames: &mut BodyDataStream) -> Option<Option<Bytes>> {
    match frames.next().now_or_never()? {
        Some(Ok(frame)) => Some(Some(frame)),
        Some(Err(_)) | None => Some(None),
    }
}

/// `size` in hex and CRLF: a chunk's size line, written into `buffer`.
fn chunk_size_line(size: usize, buffer: &mut [u8; 18]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 16;
    let mut rest = size;
    loop {
        start -= 1;
        buffer[start] = HEX[rest & 0xf];
        rest >>= 4;
        if rest == 0 {
            break;
        }
    }
    buffer[16] = b'\r';
    buffer[17] = b'\n';
    &buffer[start..]
}

/// A socket with bytes already read from it put back in front.
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Self { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::ConnectInfo;
    use hearth_proto::Nick;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    fn parse(raw: &[u8]) -> Option<Request<Body>> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Request::new(&mut headers);
        assert!(head.parse(raw).unwrap().is_complete());
        stream_request(&head)
    }

    #[test]
    fn only_plain_gets_of_stream_routes_are_served_directly() {
        let request = parse(
            b"GET /api/rooms/general/events?replay=0 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1-0\r\n\r\n",
        )
        .expect("a room stream");
        assert_eq!(request.uri().path(), "/api/rooms/general/events");
        assert_eq!(request.uri().query(), Some("replay=0"));
        assert_eq!(request.headers()["last-event-id"], "1-0");
        assert!(parse(b"GET /api/events?rooms=a,b HTTP/1.1\r\n\r\n").is_some());
        assert!(parse(b"GET /stream HTTP/1.1\r\n\r\n").is_some());

        assert!(parse(b"GET /api/info HTTP/1.1\r\n\r\n").is_none());
        assert!(parse(b"POST /api/events HTTP/1.1\r\n\r\n").is_none());
        assert!(parse(b"HEAD /stream HTTP/1.1\r\n\r\n").is_none());
        assert!(parse(b"GET /stream HTTP/1.0\r\n\r\n").is_none());
        assert!(parse(b"GET /stream HTTP/1.1\r\nContent-Length: 5\r\n\r\n").is_none());
        assert!(parse(b"GET /stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").is_none());
        assert!(parse(b"GET /stream HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").is_none());
    }

    /// `path` with every `{param}` segment naming the default room.
    fn example_path(pattern: &str) -> String {
        pattern
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "general"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Reads a response head, up to its blank line.
    async fn read_head(client: &mut TcpStream) -> String {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut byte))
                .await
                .expect("the head in time")
                .unwrap();
            assert_eq!(read, 1, "the connection closed within the head");
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap()
    }

    /// Every route of `routes::ROUTES`, asked with a session: a GET of it
    /// answers `text/event-stream` exactly when the table calls it an event
    /// stream, and every event stream takes the direct path end to end (its
    /// first request is read as a stream, `serve_stream` answers it as one);
    /// every other route is left to hyper.
    #[tokio::test]
    async fn every_event_stream_route_is_served_directly() {
        let dir = tempfile::tempdir().unwrap();
        let state = crate::build_state(crate::Config::new(dir.path())).unwrap();
        let (token, _) = state.tokens.issue(Nick::parse("ana").unwrap());
        let router = routes::router(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut streams = 0;
        for route in routes::ROUTES {
            let path = example_path(route.path);
            // `rooms` is for `/api/events`; the other routes ignore it.
            let target = format!("{path}?rooms=general");
            let mut client = TcpStream::connect(address).await.unwrap();
            let (mut server, peer) = listener.accept().await.unwrap();
            client
                .write_all(
                    format!(
                        "GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            let first = read_first_request(&mut server, Duration::from_secs(5)).await;
            assert_eq!(routes::is_event_stream(&path), route.event_stream, "{path}");
            if !route.event_stream {
                assert!(matches!(first, FirstRequest::Other(_)), "{path} is hyper's");
                let request = Request::get(&target)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .extension(ConnectInfo(peer))
                    .body(Body::empty())
                    .unwrap();
                let response = router.clone().oneshot(request).await.unwrap();
                let content_type = response.headers().get(header::CONTENT_TYPE);
                assert!(
                    !content_type.is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream")),
                    "{path} answers an event stream: mark it as one in routes::ROUTES"
                );
                continue;
            }
            let FirstRequest::Stream(mut request) = first else {
                panic!("{path} is not served directly");
            };
            request.extensions_mut().insert(ConnectInfo(peer));
            tokio::spawn(serve_stream(
                server,
                request,
                router.clone(),
                Duration::from_secs(5),
                state.metrics.clone(),
            ));
            let head = read_head(&mut client).await;
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{path}: {head}");
            assert!(
                head.contains("\r\ncontent-type: text/event-stream"),
                "{path}: {head}"
            );
            assert!(
                head.contains("\r\ntransfer-encoding: chunked\r\n"),
                "{path}: {head}"
            );
            streams += 1;
        }
        assert_eq!(
            streams, 3,
            "/api/rooms/{{room}}/events, /api/events, /stream"
        );
        state.shutdown.cancel();
    }

    #[test]
    fn chunk_size_lines_are_hex() {
        let mut buffer = [0u8; 18];
        assert_eq!(chunk_size_line(0, &mut buffer), b"0\r\n");
        assert_eq!(chunk_size_line(0x1a2f, &mut buffer), b"1a2f\r\n");
        assert_eq!(
            chunk_size_line(usize::MAX, &mut buffer),
            b"ffffffffffffffff\r\n"
        );
    }

    #[tokio::test]
    async fn bytes_read_ahead_come_first() {
        let mut prefixed = Prefixed::new(Bytes::from_static(b"GET /"), &b" HTTP/1.1"[..]);
        let mut all = String::new();
        prefixed.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "GET / HTTP/1.1");
    }
}
