//! The accept loop: every peer that connects becomes a connection, up to `--max-conns`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use protocol::{ConnState, Origin, Problem, ProblemKind};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::{self, Relay, Slots};

/// How long to pause after a failed accept (e.g. out of file descriptors), so that a condition
/// that persists does not turn the loop into a busy spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the accept loop needs: where connections report, how many may be open, and the tracker
/// their tasks join.
pub struct Accepting {
    pub relay: Relay,
    pub slots: Slots,
    pub tasks: TaskTracker,
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

/// Accepts until shutdown or `stop`.
async fn run(accepting: Accepting, listener: TcpListener, stop: CancellationToken) {
    let Accepting {
        relay,
        slots,
        tasks,
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
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok().map(|a| a.to_string());
        let opened = relay.hub.open(
            Origin::Accepted,
            peer.to_string(),
            local,
            ConnState::Open,
            None,
        );
        tasks.spawn(connection::run(relay.clone(), opened, stream, permit));
    }
}
