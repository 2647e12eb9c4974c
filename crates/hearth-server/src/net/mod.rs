//! The accept loop: HTTP/1.1 connections with the limits a long-lived stream
//! server needs, which `axum::serve` does not expose.
//!
//! - **Connection cap**: connections over `max_connections` are answered
//!   `503` with `Retry-After` and closed.
//! - **Header read timeout**: a client must send its request head in time
//!   (slowloris).
//! - **Write stall timeout** ([`StallGuard`]): a connection whose socket
//!   stays full (a subscriber that stopped reading) is closed, so it holds
//!   no more than hyper's bounded write buffer.
//! - **TLS** (optional, rustls): the handshake must finish within the header
//!   timeout.
//! - **Graceful shutdown**: on the token, stop accepting, let open requests
//!   (and streams, which end themselves on the same token) finish, then stop.
//! - **Event streams past hyper** ([`direct`]): on plain HTTP, a connection
//!   whose first request is an event stream is answered without hyper's
//!   per-connection buffers; every other connection is hyper's.
//! - **Listen backlog** ([`bind`]): as long as the OS allows (by default),
//!   so a burst of reconnecting clients is queued, not dropped (a dropped
//!   SYN costs the client a 1 s, then 3 s retransmission).
//! - **Lingering close** ([`linger`]): a connection the server closes while
//!   the client still sends (an early `413`) is read to its end for a moment
//!   first, so the client gets the answer rather than a reset.

pub mod direct;
mod linger;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::future::Either;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use self::direct::{FirstRequest, Prefixed};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// The connection-level limits.
#[derive(Debug, Clone)]
pub struct NetLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub write_stall_timeout: Duration,
    pub shutdown_grace: Duration,
}

/// Counts a connection as open while alive.
struct ConnectionSlot {
    open: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

impl ConnectionSlot {
    /// Takes a slot; returns it and the number of open connections with it.
    fn take(open: &Arc<AtomicUsize>, metrics: &Arc<Metrics>) -> (Self, usize) {
        let count = open.fetch_add(1, Ordering::Relaxed) + 1;
        metrics.connections_open.inc();
        (
            Self {
                open: open.clone(),
                metrics: metrics.clone(),
            },
            count,
        )
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        self.metrics.connections_open.dec();
    }
}

fn over_capacity() -> Response {
    let mut response = ApiError::Unavailable {
        message: "the server has too many open connections; retry shortly".into(),
        retry_after_secs: 5,
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The backlog [`bind`] asks for by default: more than any OS allows, so
/// the OS's own limit applies (Linux: `net.core.somaxconn`, 4096 on current
/// kernels; macOS: `kern.ipc.somaxconn`).
pub const DEFAULT_BACKLOG: u32 = 65_535;

/// A listener on `addr` with a backlog of `backlog` pending connections
/// (the OS may lower it to its limit), `SO_REUSEADDR` on Unix (a restarted
/// server binds again at once) and, for an IPv6 address, both IPv4 and
/// IPv6 where the OS allows.
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    TcpListener::from_std(socket.into())
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until
/// `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: NetLimits,
    tls: Option<TlsAcceptor>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    // Every connection's task, so shutdown also waits for the streams
    // `direct` serves (hyper's connections are the `graceful` ones).
    let connections = TaskTracker::new();
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(cause = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (slot, count) = ConnectionSlot::take(&open, &metrics);
        let refuse = count > limits.max_connections;
        if refuse {
            metrics.connections_refused.inc();
        }
        let connection = Connection {
            peer,
            refuse,
            router: router.clone(),
            limits: limits.clone(),
            metrics: metrics.clone(),
            watcher: graceful.watcher(),
            tasks: connections.clone(),
            _slot: slot,
        };
        match tls.clone() {
            None => connections.spawn(connection.serve_plain(stream)),
            Some(acceptor) => connections.spawn(Box::pin(connection.serve_tls(stream, acceptor))),
        };
    }
    drop(listener);
    connections.close();
    tokio::select! {
        _ = async { tokio::join!(graceful.shutdown(), connections.wait()) } => {
            tracing::debug!("all connections closed");
        }
        _ = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("connections still open after the shutdown grace period");
        }
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    peer: SocketAddr,
    /// Over the connection cap: answer `503`.
    refuse: bool,
    router: Router,
    limits: NetLimits,
    metrics: Arc<Metrics>,
    watcher: Watcher,
    /// Where an event stream's own task is spawned (see `serve_plain`).
    tasks: TaskTracker,
    _slot: ConnectionSlot,
}

impl Connection {
    /// Plain HTTP: an event stream as the first request is served by
    /// [`direct`], anything else by hyper. An event stream gets a task of
    /// its own, holding only the stream and the connection's slot: a task is
    /// as big as the largest state of its future, so the stream would
    /// otherwise carry this connection's limits, router, watcher and head
    /// reading for its whole life. hyper's connection future (several KiB)
    /// is boxed, so only connections that use it carry it.
    async fn serve_plain(self, mut stream: TcpStream) {
        let read_ahead = if self.refuse {
            Bytes::new()
        } else {
            match direct::read_first_request(&mut stream, self.limits.header_read_timeout).await {
                FirstRequest::Stream(mut request) => {
                    request.extensions_mut().insert(ConnectInfo(self.peer));
                    let Self {
                        router,
                        limits,
                        metrics,
                        tasks,
                        _slot: slot,
                        ..
                    } = self;
                    let stall = limits.write_stall_timeout;
                    tasks.spawn(Holding {
                        future: direct::serve_stream(stream, request, router, stall, metrics),
                        _slot: slot,
                    });
                    return;
                }
                FirstRequest::Other(read_ahead) => read_ahead,
                FirstRequest::Gone => return,
            }
        };
        let stall = self.limits.write_stall_timeout;
        let io = Prefixed::new(
            read_ahead,
            StallGuard::new(stream, stall, self.metrics.clone()),
        );
        Box::pin(self.serve_with_hyper(io)).await;
    }

    /// TLS: the handshake, then hyper.
    async fn serve_tls(self, stream: TcpStream, acceptor: TlsAcceptor) {
        // The handshake counts against the header timeout: a client that
        // dribbles it is cut off like a slow head.
        let handshake =
            tokio::time::timeout(self.limits.header_read_timeout, acceptor.accept(stream)).await;
        let stream = match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(cause = %e, peer = %self.peer, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(peer = %self.peer, "TLS handshake timed out");
                return;
            }
        };
        let stall = self.limits.write_stall_timeout;
        let io = StallGuard::new(stream, stall, self.metrics.clone());
        self.serve_with_hyper(io).await;
    }

    async fn serve_with_hyper<S>(self, io: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            peer,
            refuse,
            router,
            limits,
            watcher,
            ..
        } = self;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            if refuse {
                return Either::Left(std::future::ready(Ok(over_capacity())));
            }
            request.extensions_mut().insert(ConnectInfo(peer));
            Either::Right(router.clone().oneshot(request))
        });
        let http = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .to_owned();
        let served = watcher
            .watch(http.serve_connection(TokioIo::new(linger::Lingering::new(io)), service))
            .await;
        if let Err(e) = served {
            tracing::debug!(cause = %e, %peer, "connection ended with an error");
        }
    }
}

pin_project! {
    /// `future`, holding the connection's slot until it is done (an async
    /// block would keep the future twice: as what it captured and as what
    /// it awaits).
    struct Holding<F> {
        #[pin]
        future: F,
        _slot: ConnectionSlot,
    }
}

impl<F: Future> Future for Holding<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

pin_project! {
    /// A socket whose writes fail with `TimedOut` once they have made no
    /// progress for `timeout`.
    pub struct StallGuard<S> {
        #[pin]
        inner: S,
        timeout: Duration,
        stalled: Option<Pin<Box<Sleep>>>,
        metrics: Arc<Metrics>,
    }
}

impl<S> StallGuard<S> {
    pub fn new(inner: S, timeout: Duration, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            timeout,
            stalled: None,
            metrics,
        }
    }
}

/// Turns a `Pending` write into an error once it has been pending too long.
fn watch_stall<T>(
    result: Poll<io::Result<T>>,
    stalled: &mut Option<Pin<Box<Sleep>>>,
    timeout: Duration,
    metrics: &Metrics,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    if result.is_ready() {
        *stalled = None;
        return result;
    }
    let timer = stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
    ready!(timer.as_mut().poll(cx));
    metrics.connections_stalled.inc();
    Poll::Ready(Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "the client stopped reading",
    )))
}

impl<S: AsyncRead> AsyncRead for StallGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<S: AsyncWrite> AsyncWrite for StallGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write(cx, buf);
        watch_stall(result, this.stalled, *this.timeout, this.metrics, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write_vectored(cx, bufs);
        watch_stall(result, this.stalled, *this.timeout, this.metrics, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let result = this.inner.poll_flush(cx);
        watch_stall(result, this.stalled, *this.timeout, this.metrics, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// The address a connection came from, for handlers.
pub type PeerAddr = ConnectInfo<SocketAddr>;

#[cfg(test)]
mod tests {
    use hearth_proto::Nick;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Reads from `client` until `needle` has been received.
    async fn read_until(client: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 1024];
        while !seen.windows(needle.len()).any(|w| w == needle) {
            let read = tokio::time::timeout(Duration::from_secs(20), client.read(&mut buffer))
                .await
                .expect("the stream answers")
                .unwrap();
            assert!(
                read > 0,
                "closed before {:?}",
                String::from_utf8_lossy(needle)
            );
            seen.extend_from_slice(&buffer[..read]);
        }
        seen
    }

    /// A burst of connections all asking for an event stream at once: every
    /// one is accepted and streams (its head, then `ready`), each
    /// stream counts as an open connection while it lives, and shutdown
    /// ends them all and returns.
    #[tokio::test]
    async fn a_burst_of_streams_is_all_served_and_shut_down() {
        const BURST: usize = 200;
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::Config::new(dir.path());
        // Every client of this test has the same address.
        config.max_streams_per_address = 0;
        let state = crate::build_state(config).unwrap();
        let (token, _) = state.tokens.issue(Nick::parse("ana").unwrap());
        let listener = bind("127.0.0.1:0".parse().unwrap(), DEFAULT_BACKLOG).unwrap();
        let address = listener.local_addr().unwrap();
        let limits = NetLimits {
            max_connections: 10 * BURST,
            header_read_timeout: Duration::from_secs(10),
            write_stall_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        };
        let stop = state.shutdown.clone();
        let metrics = state.metrics.clone();
        let server = tokio::spawn(serve(
            listener,
            crate::routes::router(state.clone()),
            limits,
            None,
            metrics.clone(),
            stop.clone(),
        ));
        let request = format!(
            "GET /api/rooms/general/events?replay=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
        );
        let clients = (0..BURST).map(|_| {
            let request = request.clone();
            async move {
                let mut client = TcpStream::connect(address).await.unwrap();
                client.write_all(request.as_bytes()).await.unwrap();
                let seen = read_until(&mut client, b"event: ready").await;
                assert!(seen.starts_with(b"HTTP/1.1 200 OK\r\n"));
                client
            }
        });
        let clients = futures::future::join_all(clients).await;
        assert_eq!(clients.len(), BURST);
        assert_eq!(metrics.connections_open.get(), BURST as i64);
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), server)
            .await
            .expect("shutdown ends every stream")
            .unwrap();
        assert_eq!(metrics.connections_open.get(), 0);
        drop(clients);
    }

    /// The backlog the kernel keeps for a listener, as `ss` shows it
    /// (Send-Q of a listening socket).
    #[cfg(target_os = "linux")]
    fn kernel_backlog(port: u16) -> u32 {
        let out = std::process::Command::new("ss")
            .args(["-ltnH", &format!("sport = :{port}")])
            .output()
            .expect("ss (iproute2) runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .next()
            .unwrap_or_else(|| panic!("no listener: {text}"));
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_backlog_is_what_was_asked_up_to_the_os_limit() {
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let asked = bind("127.0.0.1:0".parse().unwrap(), 1000).unwrap();
        let port = asked.local_addr().unwrap().port();
        assert_eq!(kernel_backlog(port), 1000.min(somaxconn));
        let default = bind("127.0.0.1:0".parse().unwrap(), DEFAULT_BACKLOG).unwrap();
        let port = default.local_addr().unwrap().port();
        assert_eq!(kernel_backlog(port), somaxconn, "the OS's limit");
        // A restarted server binds its port again at once.
        let addr = default.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = default.accept().await.unwrap();
        drop(accepted);
        drop(default);
        drop(client);
        bind(addr, DEFAULT_BACKLOG).expect("bound again while the old socket lingers");
    }
}
