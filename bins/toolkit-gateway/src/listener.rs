//! Accepting connections: HTTP/1.1 and HTTP/2 with a cap on open connections, a deadline for
//! request headers and an idle timeout, so that clients that connect and stay silent (or send
//! slowly, or stop reading) cannot hold the gateway's descriptors or starve `/healthz`.
//!
//! - At [`HttpLimits::max_connections`] a new connection gets `503 Service Unavailable` and is
//!   closed at once.
//! - [`HttpLimits::header_read_timeout`] bounds the time from when a connection waits for a
//!   request to when the request's headers have arrived (a connection that sends nothing at all
//!   is dropped after it too); an idle keep-alive connection is closed after it as well.
//! - [`HttpLimits::idle_timeout`]: a connection on which nothing was read or written for that
//!   long is asked to close, and dropped if it is still open after as long again.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::HttpLimits;

/// What a connection past the cap is told.
const FULL: &str = "the gateway has too many open connections (--max-connections); retry shortly\n";

/// How long a refused connection gets to take its 503.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `stop` is cancelled, then lets open connections finish
/// their current requests; returns when every connection has closed.
pub(crate) async fn serve(listener: TcpListener, app: Router, limits: HttpLimits, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    loop {
        let (tcp, _peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or the peer gave up before the accept: wait a moment
                    // rather than spin.
                    tracing::debug!("accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            connections.spawn(refuse(tcp));
            continue;
        };
        // Replies on SSE streams go out in several small writes; with Nagle's algorithm each
        // would wait for the client's delayed ACK (40ms on Linux).
        let _ = tcp.set_nodelay(true);
        let (app, builder, stop) = (app.clone(), builder.clone(), stop.clone());
        let (idle, first_bytes) = (limits.idle_timeout, limits.header_read_timeout);
        connections.spawn(async move {
            let activity = Activity::new();
            let io = TokioIo::new(Tracked { inner: tcp, activity: activity.clone() });
            let service = TowerToHyperService::new(app);
            let connection = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(connection);
            let mut asked_to_close = false;
            let every = (idle.min(first_bytes) / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
            let mut check = tokio::time::interval(every);
            loop {
                tokio::select! {
                    served = connection.as_mut() => {
                        if let Err(e) = served {
                            tracing::debug!("connection ended: {e}");
                        }
                        break;
                    }
                    () = stop.cancelled(), if !asked_to_close => {
                        connection.as_mut().graceful_shutdown();
                        asked_to_close = true;
                    }
                    _ = check.tick() => {
                        // Before the first request, hyper is still finding out which HTTP
                        // version the client speaks, with no deadline of its own.
                        if !activity.has_read() && activity.opened.elapsed() >= first_bytes {
                            tracing::debug!("dropped a connection that sent nothing");
                            break;
                        }
                        let quiet = activity.quiet_for();
                        if quiet >= idle * 2 {
                            tracing::debug!("dropped a connection idle for {quiet:?}");
                            break;
                        }
                        if quiet >= idle && !asked_to_close {
                            connection.as_mut().graceful_shutdown();
                            asked_to_close = true;
                        }
                    }
                }
            }
            drop(slot);
        });
    }
    connections.close();
    connections.wait().await;
}

/// Tells a connection past the cap so, and closes it.
async fn refuse(mut tcp: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        let reply = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{FULL}",
            FULL.len()
        );
        let _ = tcp.write_all(reply.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

/// When a connection last read or wrote, in milliseconds since it opened.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last: Arc<AtomicU64>,
    read: Arc<AtomicBool>,
}

impl Activity {
    fn new() -> Self {
        Self { opened: Instant::now(), last: Arc::new(AtomicU64::new(0)), read: Arc::new(AtomicBool::new(false)) }
    }

    fn has_read(&self) -> bool {
        self.read.load(Ordering::Relaxed)
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        self.opened.elapsed().saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed)))
    }
}

/// A TCP stream that records each read and write in its [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
            this.activity.read.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
