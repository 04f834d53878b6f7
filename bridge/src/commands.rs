//! What a page can ask of the bridge, carried out: dial a server, send bytes (or a file),
//! disconnect, start, move or stop the TCP listener, forget closed connections, read connections
//! another way (framing, checksum), set the auto-reply rules. Every command a page sends lands here, and a new command (or a
//! new kind of connection to open) is added here: the session only decodes and answers.
//!
//! This module owns the TCP listener slot, so that moving the listener (bind the new address,
//! then close the old one) is one step that two pages cannot interleave.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use protocol::{
    address, Command, ConnId, ConnState, Origin, Problem, ProblemKind, RequestId, Target,
};
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio_util::task::TaskTracker;

use crate::connection::{Relay, Slots};
use crate::dial_rules::{self, DialRule};
use crate::hub::{Hub, Sent};
use crate::listener::{self, Listening};
use crate::{dialer, explain_bind};

/// How dials are made: `--dial-timeout` and `--allow-dial` (empty allows any address).
pub struct DialPolicy {
    pub timeout: Duration,
    pub rules: Vec<DialRule>,
}

/// The bridge as the pages command it.
pub struct Commands {
    relay: Relay,
    slots: Slots,
    dial: DialPolicy,
    /// The TCP listener, while it runs.
    listener: Mutex<Option<Listening>>,
    /// Every connection and listener task, so that shutdown can wait for them.
    tasks: TaskTracker,
}

impl Commands {
    pub fn new(relay: Relay, slots: Slots, dial: DialPolicy, tasks: TaskTracker) -> Commands {
        Commands {
            relay,
            slots,
            dial,
            listener: Mutex::new(None),
            tasks,
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.relay.hub
    }

    /// Carries out a control command; what went wrong is told to the page that sent it.
    pub async fn carry_out(&self, command: Command) -> Result<(), Problem> {
        match command {
            Command::Connect {
                host,
                port,
                request,
            } => self.connect(&host, port, request),
            Command::Disconnect { conn } => self.disconnect(conn),
            Command::Listen { addr } => self.listen(&addr).await,
            Command::StopListening => {
                self.stop_listening().await;
                Ok(())
            }
            Command::ForgetClosed => {
                self.relay.hub.forget_closed();
                Ok(())
            }
            Command::Configure { conn, settings } => self.relay.hub.configure(conn, settings),
            Command::SetRules { rules } => self.relay.hub.set_rules(rules),
            Command::SendFile { to, name, size } => self.relay.hub.file(to, &name, size),
        }
    }

    /// Queues bytes for one open connection, or for every open one (see [`Hub::send`]); `file`
    /// if they are part of a file.
    pub fn send(&self, to: Target, data: Bytes, file: bool) -> Result<Sent, Problem> {
        self.relay.hub.send(to, data, file)
    }

    /// Starts dialling `host:port`. Fails at once when `--allow-dial` does not allow it, or when
    /// the bridge is at `--max-conns`; a failure to connect closes the new connection instead.
    /// The new connection carries `request` back to the page.
    pub fn connect(
        &self,
        host: &str,
        port: u16,
        request: Option<RequestId>,
    ) -> Result<(), Problem> {
        // People write IPv6 literals with brackets, as in a URL; the resolver wants them bare.
        let host = address::strip_brackets(host).to_owned();
        let target = address::join(&host, port);
        if !dial_rules::allowed(&self.dial.rules, &host, port) {
            let rules: Vec<String> = self.dial.rules.iter().map(ToString::to_string).collect();
            let why = format!(
                "not allowed to dial {target}: this bridge may dial only {} (--allow-dial)",
                rules.join(", ")
            );
            return Err(Problem::new(ProblemKind::NotAllowed, why));
        }
        let permit = self.slots.take().map_err(|full| {
            Problem::new(
                ProblemKind::TooManyConnections,
                format!("cannot dial {target}: {full}"),
            )
        })?;
        let opened = self.relay.hub.open(
            Origin::Dialled,
            target,
            None,
            ConnState::Connecting,
            request,
        );
        let dial = dialer::Dial {
            host,
            port,
            timeout: self.dial.timeout,
        };
        self.tasks
            .spawn(dialer::run(self.relay.clone(), dial, opened, permit));
        Ok(())
    }

    /// Asks a connection (open or still dialling) to close.
    pub fn disconnect(&self, conn: ConnId) -> Result<(), Problem> {
        self.relay.hub.disconnect(conn)
    }

    /// Starts the TCP listener on `addr`, or moves it there: binds the new address, and only
    /// then closes the listener it replaces, so that a failure leaves things as they were.
    pub async fn listen(&self, addr: &str) -> Result<(), Problem> {
        let failed = |why: String| Problem::new(ProblemKind::ListenFailed, why);
        let parsed: SocketAddr = addr.trim().parse().map_err(|_| {
            failed(format!(
                "cannot listen on `{addr}`: write IP:PORT, e.g. 0.0.0.0:7777 or [::]:7777"
            ))
        })?;
        let mut current = self.listener.lock().await;
        if current.as_ref().is_some_and(|l| l.addr() == parsed) {
            self.relay.hub.set_listen(Some(parsed.to_string()));
            return Ok(());
        }
        let cannot = |why: String| failed(format!("cannot listen for TCP on {parsed}: {why}"));
        let bound = TcpListener::bind(parsed)
            .await
            .map_err(|e| cannot(explain_bind(&e)))?;
        let running = self
            .start_listening(bound)
            .map_err(|e| cannot(e.to_string()))?;
        let now = running.addr();
        if let Some(old) = current.replace(running) {
            old.stop().await;
        }
        tracing::info!(%now, "listening for TCP (asked by a page)");
        self.relay.hub.set_listen(Some(now.to_string()));
        Ok(())
    }

    /// Stops the TCP listener; connections it accepted stay open.
    pub async fn stop_listening(&self) {
        if let Some(old) = self.listener.lock().await.take() {
            old.stop().await;
            tracing::info!("stopped listening for TCP (asked by a page)");
        }
        self.relay.hub.set_listen(None);
    }

    /// Runs the listener bound at start.
    pub async fn listen_on(&self, bound: TcpListener) -> std::io::Result<SocketAddr> {
        let running = self.start_listening(bound)?;
        let addr = running.addr();
        *self.listener.lock().await = Some(running);
        Ok(addr)
    }

    fn start_listening(&self, bound: TcpListener) -> std::io::Result<Listening> {
        let accepting = listener::Accepting {
            relay: self.relay.clone(),
            slots: self.slots.clone(),
            tasks: self.tasks.clone(),
        };
        Listening::spawn(accepting, bound)
    }
}
