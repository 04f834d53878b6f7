//! The HTTP server's accept loop, with the bounds that a stranger who reaches the port must not
//! get past. A request's header must arrive within [`HEADER_TIMEOUT`], and a connection that
//! waits for its next request is let go after as long, so that a half-sent request holds
//! nothing for long. At most [`MAX_PENDING`] connections (fewer under a small open-files
//! limit, see `open_files`) may be open that have not become a page (a WebSocket): past that,
//! a new one is closed at once, so that however many arrive, they never take the file
//! descriptors the TCP listener and the pages need. A connection leaves the count when it
//! becomes a page; pages have their own bound, `--max-pages`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a request's header may take to arrive, and a kept-alive connection may wait for
/// its next request.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP connections open at once that have not become pages.
pub const MAX_PENDING: usize = 256;
/// How long to pause after a failed accept (out of file descriptors, say).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `stopped`, then lets each connection finish its request.
/// At most `most` connections that are not yet pages are open at once.
pub async fn serve(listener: TcpListener, app: Router, stopped: CancellationToken, most: usize) {
    let pending = Arc::new(Semaphore::new(most));
    // HTTP/1.1 only, which is all a browser speaks to a plain-HTTP loopback address: a page's
    // socket is then the `TcpStream` itself under `hyper`'s upgrade (see `page_socket`).
    let mut builder = Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let connections = TaskTracker::new();
    let mut told_full = false;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("the HTTP server could not accept a connection: {e}");
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let Ok(place) = pending.clone().try_acquire_owned() else {
            if !told_full {
                tracing::warn!(
                    "{most} HTTP connections wait for their requests: closing new ones \
                     until some finish (within {} s)",
                    HEADER_TIMEOUT.as_secs()
                );
                told_full = true;
            }
            continue;
        };
        told_full = false;
        // Without TCP_NODELAY, a keystroke's record can wait for the browser's delayed ACK.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let stopped = stopped.clone();
        connections.spawn(async move {
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            // The connection's future ends when it closes or becomes a WebSocket: either way, it
            // no longer counts.
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopped.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(place);
        });
    }
    connections.close();
    connections.wait().await;
}
