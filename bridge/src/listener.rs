//! The accept loop: every peer that connects becomes a connection, up to `--max-conns`. A TLS
//! listener's connections open once their handshake is done, in their own tasks, so that a
//! client that never finishes one holds up nobody; a proxy's open once its server is reached
//! (and, for a TLS proxy, once the client's handshake is done first: [`crate::proxy`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protocol::{ConnState, Origin, Problem, ProblemKind, Transport};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::conversation::{canonical, stream, Relay, Slots};
use crate::hub::{Opened, Opening};
use crate::proxy::{self, Forward};
use crate::tls::Acceptor;

/// How long to pause after a failed accept (e.g. out of file descriptors), so that a condition
/// that persists does not turn the loop into a busy spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the accept loop needs: where connections report, how many may be open, and the tracker
/// their tasks join.
pub struct Accepting {
    pub relay: Relay,
    pub slots: Slots,
    pub tasks: TaskTracker,
    /// For a TLS listener, or a proxy whose clients speak TLS: the bridge's certificate and key.
    pub tls: Option<Acceptor>,
    /// For a proxy's listener: the server each client is relayed to.
    pub proxy: Option<Arc<Forward>>,
}

/// A listener's accept loop, running.
pub struct Listening {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Listening {
    /// Starts accepting on `listener`, until shutdown or [`Listening::stop`].
    pub fn spawn(accepting: Accepting, listener: TcpListener) -> io::Result<Listening> {
        let addr = listener.local_addr()?;
        let stop = accepting.relay.shutdown.child_token();
        let tasks = accepting.tasks.clone();
        let task = tasks.spawn(run(accepting, listener, stop.clone()));
        Ok(Listening { addr, stop, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and closes the socket; returns once it is closed.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Accepts TLS on a connection just accepted, then converses; or closes it with the reason the
/// handshake failed.
async fn shake_hands(relay: Relay, acceptor: Acceptor, opened: Opened, stream: TcpStream) {
    let id = opened.id;
    let addrs = (stream.peer_addr(), stream.local_addr());
    let handshake = tokio::select! {
        handshake = acceptor.accept(stream) => handshake,
        () = opened.cancel.cancelled() => return relay.hub.close(id, relay.cancel_reason().into()),
    };
    match (handshake, addrs) {
        (Ok((stream, info)), (Ok(peer), Ok(local))) => {
            relay
                .hub
                .connected(id, canonical(peer), canonical(local), Some(info));
            let stream = tokio_rustls::TlsStream::Server(stream);
            stream::converse_and_close(relay, opened, stream).await;
        }
        (Ok(_), (Err(e), _) | (_, Err(e))) => relay.hub.close(id, format!("lost at once: {e}")),
        (Err(failed), _) => relay.hub.close(id, failed.reason),
    }
}

/// Accepts until shutdown or `stop`.
async fn run(accepting: Accepting, listener: TcpListener, stop: CancellationToken) {
    let Accepting {
        relay,
        slots,
        tasks,
        tls,
        proxy,
    } = accepting;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accepting a TCP connection failed: {e}");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    () = stop.cancelled() => return,
                }
            }
        };
        let permit = match slots.take() {
            Ok(permit) => permit,
            Err(full) => {
                drop(stream);
                let why = format!("refused a connection from {peer}: {full}");
                relay
                    .hub
                    .error(Problem::new(ProblemKind::TooManyConnections, why));
                continue;
            }
        };
        stream::tune(&stream);
        let local = stream.local_addr().ok().map(canonical);
        let opening = Opening {
            origin: Origin::Accepted,
            transport: if tls.is_some() {
                Transport::Tls
            } else {
                Transport::Tcp
            },
            peer: canonical(peer).to_string(),
            local: local.map(|a| a.to_string()),
            // A TLS connection opens once its handshake is done, a proxy's once its server
            // answers.
            state: if tls.is_some() || proxy.is_some() {
                ConnState::Connecting
            } else {
                ConnState::Open
            },
            request: None,
            proxy: proxy.as_ref().map(|forward| forward.info()),
        };
        let opened = relay.hub.open(opening);
        match (&tls, &proxy) {
            (_, Some(forward)) => {
                let forward = forward.clone();
                tasks.spawn(proxy::run(relay.clone(), opened, stream, forward, permit))
            }
            (None, None) => tasks.spawn(stream::run(relay.clone(), opened, stream, permit)),
            (Some(acceptor), None) => {
                let handshake = shake_hands(relay.clone(), acceptor.clone(), opened, stream);
                tasks.spawn(async move {
                    handshake.await;
                    drop(permit);
                })
            }
        };
    }
}
