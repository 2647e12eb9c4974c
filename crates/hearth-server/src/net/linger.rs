//! Lingering close: when the server ends a connection while the client is
//! still sending (a `413` answered before an upload's body was read), the
//! kernel would reset the connection on close because of the unread bytes,
//! and a reset makes the client drop the answer it has not read yet: it sees
//! "connection reset" instead of the `413`. So, as nginx's `lingering_close`
//! does, closing sends our FIN first, then reads and discards what the
//! client still sends until it closes too, for at most [`LINGER`] and
//! [`LINGER_BYTES`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The longest a closing connection is read for.
pub const LINGER: Duration = Duration::from_secs(2);
/// The most bytes a closing connection is read for.
pub const LINGER_BYTES: u64 = 32 * 1024 * 1024;

pin_project! {
    /// `inner`, whose `poll_shutdown` lingers (see the module docs).
    pub struct Lingering<S> {
        #[pin]
        inner: S,
        closed_write: bool,
        deadline: Option<Pin<Box<Sleep>>>,
        drained: u64,
    }
}

impl<S> Lingering<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            closed_write: false,
            deadline: None,
            drained: 0,
        }
    }
}

impl<S: AsyncRead> AsyncRead for Lingering<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncWrite for Lingering<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.project();
        if !*this.closed_write {
            ready!(this.inner.as_mut().poll_shutdown(cx))?;
            *this.closed_write = true;
        }
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(LINGER)));
        let mut scratch = [0u8; 8192];
        loop {
            if deadline.as_mut().poll(cx).is_ready() || *this.drained >= LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match this.inner.as_mut().poll_read(cx, &mut buf) {
                // The client closed (or the connection failed): done.
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => *this.drained += buf.filled().len() as u64,
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn closing_reads_what_the_peer_still_sends_until_it_closes() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let mut ours = Lingering::new(ours);
        let peer = tokio::spawn(async move {
            // Sends 64 KiB after our FIN, then reads our FIN and closes.
            theirs.write_all(&vec![7u8; 64 * 1024]).await.unwrap();
            let mut rest = Vec::new();
            theirs.read_to_end(&mut rest).await.unwrap();
            drop(theirs);
        });
        ours.shutdown().await.unwrap();
        assert_eq!(ours.drained, 64 * 1024);
        peer.await.unwrap();
    }

    #[tokio::test]
    async fn a_peer_that_never_closes_is_given_up_on() {
        let (ours, _theirs) = tokio::io::duplex(1024);
        let mut ours = Lingering::new(ours);
        tokio::time::timeout(LINGER * 5, ours.shutdown())
            .await
            .expect("closing ends although the peer never closes")
            .unwrap();
    }
}
