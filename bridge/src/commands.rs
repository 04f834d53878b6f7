//! What a page can ask of the bridge, carried out: dial a server (TCP, TLS or UDP), announce or
//! stop a file, disconnect, start, move or stop a listener (TCP, TLS, or the UDP socket), join
//! and leave multicast groups, start and stop proxies, forget closed connections, read connections another way
//! (framing, checksum), set the auto-reply rules and save them to the `--rules` file. Every command a page sends lands here, and a
//! new command (or a new kind of connection to open) is added here: the session only decodes
//! and answers. (A page's sends are bytes, not commands: the session queues them with the hub.)
//!
//! This module owns the listeners, so that moving one (bind the new address, then close the old
//! one) is one step that two pages cannot interleave.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use protocol::recording::{Conversation, Happening};
use protocol::{
    address, Command, ConnId, ConnState, Event, Origin, Problem, ProblemKind, RecordHeader,
    RecordParts, RequestId, Transport,
};
use tokio::sync::Mutex;
use tokio_util::task::TaskTracker;

use crate::conversation::{Relay, Slots};
use crate::dial_rules::{self, DialRule};
use crate::dialer::{self, Via};
use crate::hub::Opening;
use crate::listener::{self, Listening};
use crate::proxy::{self, Forward, ProxySpec};
use crate::recording::learn::learn_checked;
use crate::rules_file::RulesFile;
use crate::rules_save::RulesPath;
use crate::tls::{Acceptor, Connector};
use crate::{bind, rules, udp};
use protocol::address::Scheme;

/// How dials are made: `--dial-timeout`, `--allow-dial` (empty allows any address), and how TLS
/// servers are checked.
pub struct DialPolicy {
    pub timeout: Duration,
    pub rules: Vec<DialRule>,
    /// Verifies certificates (bundled roots, and `--tls-ca`).
    pub tls: Connector,
    /// Accepts any certificate, for a page that chose so.
    pub tls_any: Connector,
    /// The bridge's own HTTP address, which it never dials (see [`dialer::Dial::own_http`]).
    pub own_http: Option<SocketAddr>,
}

/// The bridge as the pages command it.
pub struct Commands {
    relay: Relay,
    slots: Slots,
    dial: DialPolicy,
    listeners: Mutex<Listeners>,
    /// `--udp-idle`, for the UDP socket's accepted conversations.
    udp_idle: Duration,
    /// `--udp-peers`: how many accepted conversations the UDP socket may hold.
    udp_peers: usize,
    /// Every connection and listener task, so that shutdown can wait for them.
    tasks: TaskTracker,
    /// The `--rules` file, which `save_rules` writes; `None` without the flag.
    rules_file: Option<RulesPath>,
}

/// The listeners that run, one of each kind at most, and the TLS listener's certificate.
#[derive(Default)]
struct Listeners {
    tcp: Option<Listening>,
    tls: Option<Listening>,
    udp: Option<udp::Socket>,
    /// The proxies' listeners, TCP or TLS, and UDP sockets (`--proxy`, or started by a page),
    /// each with its spec (listening where it was bound), in the order they started.
    proxies: Vec<(Running, ProxySpec)>,
    /// From `--tls-cert` and `--tls-key`, or self-signed when a TLS listener first starts; the
    /// same for the bridge's whole run, so that its fingerprint can be trusted once.
    certificate: Option<Acceptor>,
}

/// A listener, running.
enum Running {
    Stream(Listening),
    Datagram(udp::Socket),
}

impl Running {
    fn addr(&self) -> SocketAddr {
        match self {
            Running::Stream(listening) => listening.addr(),
            Running::Datagram(socket) => socket.addr(),
        }
    }

    async fn stop(self) {
        match self {
            Running::Stream(listening) => listening.stop().await,
            Running::Datagram(socket) => socket.stop().await,
        }
    }
}

impl Listeners {
    fn addr(&self, transport: Transport) -> Option<SocketAddr> {
        match transport {
            Transport::Tcp => self.tcp.as_ref().map(Listening::addr),
            Transport::Tls => self.tls.as_ref().map(Listening::addr),
            Transport::Udp => self.udp.as_ref().map(udp::Socket::addr),
        }
    }

    /// Puts `running` in its slot; returns the listener it replaces.
    fn replace(&mut self, transport: Transport, running: Running) -> Option<Running> {
        match (transport, running) {
            (Transport::Tcp, Running::Stream(l)) => self.tcp.replace(l).map(Running::Stream),
            (Transport::Tls, Running::Stream(l)) => self.tls.replace(l).map(Running::Stream),
            (Transport::Udp, Running::Datagram(s)) => self.udp.replace(s).map(Running::Datagram),
            _ => unreachable!("a UDP socket listens for UDP, a stream listener for TCP or TLS"),
        }
    }

    fn take(&mut self, transport: Transport) -> Option<Running> {
        match transport {
            Transport::Tcp => self.tcp.take().map(Running::Stream),
            Transport::Tls => self.tls.take().map(Running::Stream),
            Transport::Udp => self.udp.take().map(Running::Datagram),
        }
    }

    /// The TLS certificate, made now (self-signed) if the bridge has none yet.
    fn certificate(&mut self) -> Result<Acceptor, String> {
        if self.certificate.is_none() {
            self.certificate = Some(Acceptor::self_signed()?);
        }
        Ok(self.certificate.clone().expect("made above"))
    }

    /// The fingerprint of the TLS certificate, while the TLS listener runs.
    fn fingerprint(&self) -> Option<String> {
        self.tls.as_ref()?;
        Some(self.certificate.as_ref()?.certificate().sha256.clone())
    }

    /// The same, while the TLS listener or a proxy whose clients speak TLS shows it.
    fn shown_fingerprint(&self) -> Option<String> {
        if self.tls.is_none() && !self.proxies.iter().any(|(_, p)| p.client == Transport::Tls) {
            return None;
        }
        Some(self.certificate.as_ref()?.certificate().sha256.clone())
    }

    fn groups(&self) -> Vec<String> {
        self.udp
            .as_ref()
            .map(udp::Socket::groups)
            .unwrap_or_default()
    }
}

impl Commands {
    /// `certificate` is the TLS listener's, when given with `--tls-cert` and `--tls-key`.
    pub fn new(
        relay: Relay,
        slots: Slots,
        dial: DialPolicy,
        udp_idle: Duration,
        udp_peers: usize,
        tasks: TaskTracker,
        certificate: Option<Acceptor>,
    ) -> Commands {
        Commands {
            relay,
            slots,
            dial,
            udp_idle,
            udp_peers,
            listeners: Mutex::new(Listeners {
                certificate,
                ..Listeners::default()
            }),
            tasks,
            rules_file: None,
        }
    }

    /// The same, saving the rules to `file` when a page asks.
    pub fn saving_rules_to(self, file: Option<RulesPath>) -> Commands {
        Commands {
            rules_file: file,
            ..self
        }
    }

    /// Carries out a control command; what went wrong is told to the page that sent it, and so
    /// is the answer of a command that has one. Both name the command's request, when it
    /// carries one.
    pub async fn carry_out(&self, command: Command) -> Result<Option<Event>, Problem> {
        let request = command.request();
        let mut answer = None;
        let done = match command {
            Command::Dial {
                host,
                port,
                transport,
                accept_any_certificate,
                request,
            } => {
                let via = match transport {
                    Transport::Tcp => Via::Tcp,
                    Transport::Udp => {
                        let listeners = self.listeners.lock().await;
                        Via::Udp(listeners.udp.as_ref().map(udp::Socket::shared))
                    }
                    Transport::Tls if accept_any_certificate => Via::Tls(self.dial.tls_any.clone()),
                    Transport::Tls => Via::Tls(self.dial.tls.clone()),
                };
                self.dial(&host, port, via, request)
            }
            Command::Disconnect { conn } => self.relay.hub.disconnect(conn),
            Command::Listen {
                addr, transport, ..
            } => self.listen(transport, &addr).await,
            Command::StopListening { transport, .. } => {
                self.stop_listening(transport).await;
                Ok(())
            }
            Command::JoinGroup {
                group, interface, ..
            } => self.join_group(&group, interface.as_deref()).await,
            Command::LeaveGroup { group, .. } => self.leave_group(&group).await,
            Command::ForgetClosed => {
                self.relay.hub.forget_closed();
                Ok(())
            }
            Command::Configure {
                conn,
                way,
                settings,
            } => self.relay.hub.configure(conn, way, settings),
            Command::SetRules { rules } => {
                // Compiling takes a while for a large set: not on the async workers.
                let (rules, compiled) = rules::compile_apart(rules).await;
                let compiled = compiled?;
                self.relay.hub.set_rules(rules, compiled);
                Ok(())
            }
            Command::SaveRules { request } => self
                .save_rules(request)
                .await
                .map(|saved| answer = Some(saved)),
            Command::SendFile { to, name, size } => self.relay.hub.file(to, &name, size),
            Command::Proxy { listen, target, .. } => self.proxy(&listen, &target).await,
            Command::StopProxy { listen, .. } => self.stop_proxy(&listen).await,
            Command::StopFile { to } => self.relay.hub.file_stopped(to),
            Command::Hold { conn, way, on } => self.relay.hub.set_hold(conn, way, on),
            Command::Forward { conn, id, edit } => {
                self.relay.hub.forward_held(conn, id, edit.as_deref())
            }
            Command::ForwardAll { conn, way } => self.relay.hub.forward_all(conn, way),
            Command::DropHeld { conn, id } => self.relay.hub.drop_held(conn, id),
            Command::Learn { conn, request } => self
                .learn(conn, request)
                .await
                .map(|learnt| answer = Some(learnt)),
        };
        done.map(|()| answer)
            .map_err(|problem| problem.answering(request))
    }

    /// Writes the rules in force to the `--rules` file, and says so; or why it could not.
    async fn save_rules(&self, request: Option<RequestId>) -> Result<Event, Problem> {
        let Some(file) = &self.rules_file else {
            return Err(Problem::new(
                ProblemKind::SaveFailed,
                "this bridge has no rules file to save to: it was started without --rules. \
                 Download rules.toml, and start the bridge with --rules FILE to use it",
            ));
        };
        let rules = file
            .save(|| RulesFile::in_force(&self.relay.hub.server()))
            .await
            .map_err(|why| Problem::new(ProblemKind::SaveFailed, why))?;
        Ok(Event::RulesSaved {
            file: file.name().to_owned(),
            rules: rules as u64,
            request,
        })
    }

    /// Learns a simulator of conversation `conn`'s server from what the bridge holds of it, as
    /// `bridge learn` would from its recording; puts nothing in force.
    async fn learn(&self, conn: ConnId, request: Option<RequestId>) -> Result<Event, Problem> {
        let (info, held) = self.relay.hub.held_conversation(conn)?;
        // Learning compares each request with those before it: not on the async workers.
        let learnt = tokio::task::spawn_blocking(move || {
            let frames: Vec<Bytes> = held.frames().collect();
            let records: Vec<RecordParts<'_>> = frames
                .iter()
                .filter_map(|f| RecordHeader::read(f).ok())
                .collect();
            let mut conversation =
                Conversation::from_conn(&info, records.iter().map(|r| (&r.header, r.payload)));
            if info.elided_msgs > 0 {
                // What the server said before the first request held answered a request no
                // longer held: it is no greeting.
                let first = conversation.events.iter().position(|e| {
                    matches!(e, Happening::Message(m) if !m.dropped && conversation.from_client(m))
                });
                conversation
                    .events
                    .drain(..first.unwrap_or(conversation.events.len()));
            }
            let source = format!("conversation {conn}, as the bridge held it");
            learn_checked(&[conversation], &source).map(|learnt| (learnt, info))
        })
        .await
        .map_err(|e| Problem::new(ProblemKind::Other, format!("learning failed: {e}")))?;
        let (learnt, info) = learnt.map_err(|why| {
            Problem::new(
                ProblemKind::LearnFailed,
                format!("cannot learn a simulator from conversation {conn}: {why}"),
            )
            .on(conn)
        })?;
        Ok(Event::Learnt {
            conn,
            rules: learnt.file.rules,
            framing: learnt.file.framing.unwrap_or_default(),
            summary: learnt.summary,
            elided_msgs: info.elided_msgs,
            elided_bytes: info.elided_bytes,
            request,
        })
    }

    /// Starts dialling `host:port`. Fails at once when `--allow-dial` does not allow it, or when
    /// the bridge is at `--max-conns`; a failure to connect closes the new connection instead.
    /// The new connection carries `request` back to the page.
    pub fn dial(
        &self,
        host: &str,
        port: u16,
        via: Via,
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
        let opened = self.relay.hub.open(Opening {
            origin: Origin::Dialled,
            transport: via.transport(),
            peer: target,
            local: None,
            state: ConnState::Connecting,
            request,
            proxy: None,
        });
        let dial = dialer::Dial {
            host,
            port,
            via,
            timeout: self.dial.timeout,
            own_http: self.dial.own_http,
        };
        self.tasks
            .spawn(dialer::run(self.relay.clone(), dial, opened, permit));
        Ok(())
    }

    /// Starts a listener on `addr`, or moves it there: binds the new address, and only then
    /// closes the listener it replaces, so that a failure leaves things as they were. `addr` may
    /// be a port alone, for every interface (IPv6 and IPv4).
    pub async fn listen(&self, transport: Transport, addr: &str) -> Result<(), Problem> {
        let failed = |why: String, port| {
            Problem::new(ProblemKind::ListenFailed, why).at_listener(transport, port)
        };
        let addr = addr.trim();
        let parsed = protocol::address::listen_address(addr).ok_or_else(|| {
            failed(
                format!(
                    "cannot listen on `{addr}`: write IP:PORT, e.g. [::]:7777 (every interface, \
                     IPv6 and IPv4), 0.0.0.0:7777 or 127.0.0.1:7777, or a port alone"
                ),
                None,
            )
        })?;
        let label = transport.label();
        let mut listeners = self.listeners.lock().await;
        if listeners.addr(transport) != Some(parsed) {
            let cannot = |why: String| {
                let why = format!("cannot listen for {label} on {parsed}: {why}");
                failed(why, Some(parsed.port()))
            };
            let running = self
                .start(&mut listeners, transport, parsed)
                .map_err(cannot)?;
            if let Some(old) = listeners.replace(transport, running) {
                old.stop().await;
            }
            let now = listeners.addr(transport).expect("just started");
            tracing::info!(%now, "listening for {label} (asked by a page)");
        }
        self.announce(&listeners, transport);
        Ok(())
    }

    /// Stops a listener; connections it accepted stay open (except the UDP socket's, which
    /// had no other way to their peers).
    pub async fn stop_listening(&self, transport: Transport) {
        let mut listeners = self.listeners.lock().await;
        if let Some(old) = listeners.take(transport) {
            old.stop().await;
            tracing::info!(
                "stopped listening for {} (asked by a page)",
                transport.label()
            );
        }
        self.announce(&listeners, transport);
    }

    /// Joins a multicast group on the UDP socket.
    pub async fn join_group(&self, group: &str, interface: Option<&str>) -> Result<(), Problem> {
        let group = parse_group(group)?;
        let mut listeners = self.listeners.lock().await;
        let socket = listeners.udp.as_mut().ok_or_else(no_udp_socket)?;
        socket.join(group, interface).map_err(group_failed)?;
        self.announce(&listeners, Transport::Udp);
        Ok(())
    }

    /// Leaves a multicast group the UDP socket joined.
    pub async fn leave_group(&self, group: &str) -> Result<(), Problem> {
        let group = parse_group(group)?;
        let mut listeners = self.listeners.lock().await;
        let socket = listeners.udp.as_mut().ok_or_else(no_udp_socket)?;
        socket.leave(group).map_err(group_failed)?;
        self.announce(&listeners, Transport::Udp);
        Ok(())
    }

    /// Starts a listener bound at start (so that a taken port fails the start).
    pub async fn start_bound(&self, transport: Transport, bound: Bound) -> Result<(), String> {
        let mut listeners = self.listeners.lock().await;
        let running = match bound {
            Bound::Stream(listener) => {
                let tls = match transport {
                    Transport::Tls => Some(listeners.certificate()?),
                    _ => None,
                };
                Running::Stream(self.accept(listener, tls).map_err(|e| e.to_string())?)
            }
            Bound::Datagram(socket) => {
                Running::Datagram(self.receive(socket).map_err(|e| e.to_string())?)
            }
        };
        listeners.replace(transport, running);
        self.announce(&listeners, transport);
        Ok(())
    }

    /// Starts a proxy whose socket is bound (at start, or for a page): each client its
    /// listener accepts (or each address that sends to its UDP socket) is relayed to the
    /// spec's target; a TLS proxy's clients are greeted with the TLS listener's certificate.
    pub async fn start_proxy(&self, spec: &ProxySpec, bound: Bound) -> Result<SocketAddr, String> {
        let via = match spec.server {
            Transport::Tcp => Via::Tcp,
            Transport::Tls if spec.accept_any => Via::Tls(self.dial.tls_any.clone()),
            Transport::Tls => Via::Tls(self.dial.tls.clone()),
            Transport::Udp => Via::Udp(None),
        };
        let mut listeners = self.listeners.lock().await;
        let acceptor = match spec.client {
            Transport::Tls => Some(listeners.certificate()?),
            _ => None,
        };
        let forward = Some(std::sync::Arc::new(Forward {
            acceptor: acceptor.clone(),
            host: spec.host.clone(),
            port: spec.port,
            via,
            timeout: self.dial.timeout,
            own_http: self.dial.own_http,
        }));
        let running = match bound {
            Bound::Stream(bound) => {
                let accepting = listener::Accepting {
                    relay: self.relay.clone(),
                    slots: self.slots.clone(),
                    tasks: self.tasks.clone(),
                    tls: acceptor,
                    proxy: forward,
                };
                Running::Stream(Listening::spawn(accepting, bound).map_err(|e| e.to_string())?)
            }
            Bound::Datagram(bound) => {
                let receiving = udp::Receiving {
                    proxy: forward,
                    ..self.receiving()
                };
                let socket = udp::Socket::spawn(receiving, bound).map_err(|e| e.to_string())?;
                Running::Datagram(socket)
            }
        };
        let addr = running.addr();
        tracing::info!(%addr, proxy = %spec, "proxying");
        let spec = ProxySpec {
            listen: addr,
            ..spec.clone()
        };
        listeners.proxies.push((running, spec));
        self.announce_proxies(&listeners);
        Ok(addr)
    }

    /// Starts a proxy a page asked for: as `--proxy LISTEN=TARGET` would, refused with the
    /// reason (an address that is not one or is taken, transports that do not go together, a
    /// target `--allow-dial` refuses or whose name does not resolve), and nothing started then.
    pub async fn proxy(&self, listen: &str, target: &str) -> Result<(), Problem> {
        let failed = |why: String| Problem::new(ProblemKind::ListenFailed, why);
        let (listen, target) = (listen.trim(), target.trim());
        let (client, addr) =
            address::with_scheme(listen, address::listen_address).ok_or_else(|| {
                failed(format!(
                "cannot proxy from `{listen}`: write IP:PORT, e.g. 127.0.0.1:1502 or [::]:1502 \
                 (every interface), or a port alone; tls:IP:PORT for TLS clients, udp:IP:PORT \
                 for UDP"
            ))
            })?;
        let (server, (host, port)) = address::with_scheme(target, proxy::target_address)
            .ok_or_else(|| {
                failed(format!(
                    "cannot proxy to `{target}`: write the server as HOST:PORT, e.g. \
                 192.168.1.20:502; tls:HOST:PORT to dial it with TLS"
                ))
            })?;
        let spec = ProxySpec::new(addr, client, (host, port), server)
            .map_err(|why| failed(format!("cannot proxy from `{listen}` to `{target}`: {why}")))?;
        spec.allowed(&self.dial.rules)
            .map_err(|why| Problem::new(ProblemKind::NotAllowed, why))?;
        spec.resolves(self.dial.timeout)
            .await
            .map_err(|why| Problem::new(ProblemKind::DialFailed, why))?;
        let bound = bind_proxy(&spec).map_err(|e| {
            failed(format!(
                "cannot proxy from {addr}: {}",
                self.explain_bind(addr, &e)
            ))
        })?;
        self.start_proxy(&spec, bound)
            .await
            .map_err(|e| failed(format!("cannot proxy from {addr}: {e}")))?;
        Ok(())
    }

    /// Stops the proxy listening at `listen` (with `udp:` for a UDP proxy's socket, where a
    /// TCP one listens at the same port too); the conversations it started stay open, but a
    /// UDP proxy's, whose datagrams came through its socket, end with it.
    pub async fn stop_proxy(&self, listen: &str) -> Result<(), Problem> {
        let listen = listen.trim();
        let wanted = address::with_scheme(listen, address::listen_address);
        let mut listeners = self.listeners.lock().await;
        let found = wanted.and_then(|(scheme, addr)| {
            listeners.proxies.iter().position(|(running, spec)| {
                let udp = spec.client == Transport::Udp;
                running.addr() == addr
                    && match scheme {
                        Some(Scheme::Udp) => udp,
                        Some(_) => !udp,
                        None => true,
                    }
            })
        });
        let Some(at) = found else {
            return Err(Problem::new(
                ProblemKind::ListenFailed,
                format!("no proxy listens on {listen}"),
            ));
        };
        let (stopped, spec) = listeners.proxies.remove(at);
        stopped.stop().await;
        tracing::info!(proxy = %spec, "stopped proxying (asked by a page)");
        self.announce_proxies(&listeners);
        Ok(())
    }

    /// Tells every page which proxies run now.
    fn announce_proxies(&self, listeners: &Listeners) {
        let proxies = listeners
            .proxies
            .iter()
            .map(|(running, spec)| protocol::ProxyListener {
                listen: format!("{}{}", proxy::prefix(spec.client), running.addr()),
                target: spec.target_text(),
            })
            .collect();
        self.relay.hub.set_proxies(proxies);
    }

    /// The TLS listener's certificate fingerprint, once it runs.
    pub async fn tls_fingerprint(&self) -> Option<String> {
        self.listeners.lock().await.shown_fingerprint()
    }

    /// Binds `addr` and starts accepting (or receiving) there.
    fn start(
        &self,
        listeners: &mut Listeners,
        transport: Transport,
        addr: SocketAddr,
    ) -> Result<Running, String> {
        let started = match transport {
            Transport::Tcp | Transport::Tls => {
                let tls = match transport {
                    Transport::Tls => Some(listeners.certificate()?),
                    _ => None,
                };
                let bound = bind::tcp(addr).map_err(|e| self.explain_bind(addr, &e))?;
                self.accept(bound, tls).map(Running::Stream)
            }
            Transport::Udp => {
                let bound = bind::udp(addr).map_err(|e| bind::explain(&e))?;
                self.receive(bound).map(Running::Datagram)
            }
        };
        started.map_err(|e| e.to_string())
    }

    /// Why binding a listener to `addr` failed; the bridge's own HTTP port is taken by the
    /// bridge itself, and moving the listener there would not help anyone.
    fn explain_bind(&self, addr: SocketAddr, e: &std::io::Error) -> String {
        let own = self.dial.own_http.filter(|http| {
            http.port() == addr.port()
                && (http.ip() == addr.ip()
                    || http.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        });
        match own {
            Some(http) if e.kind() == std::io::ErrorKind::AddrInUse => format!(
                "port {} is the bridge's own HTTP port, where its page is served (--http \
                 {http}): listen on another port, such as {}",
                http.port(),
                address::DEFAULT_PORT
            ),
            _ => bind::explain(e),
        }
    }

    fn accept(
        &self,
        bound: tokio::net::TcpListener,
        tls: Option<Acceptor>,
    ) -> std::io::Result<Listening> {
        let accepting = listener::Accepting {
            relay: self.relay.clone(),
            slots: self.slots.clone(),
            tasks: self.tasks.clone(),
            tls,
            proxy: None,
        };
        Listening::spawn(accepting, bound)
    }

    fn receive(&self, bound: tokio::net::UdpSocket) -> std::io::Result<udp::Socket> {
        udp::Socket::spawn(self.receiving(), bound)
    }

    /// How a UDP socket receives: its conversations bounded by `--udp-idle` and `--udp-peers`.
    fn receiving(&self) -> udp::Receiving {
        udp::Receiving {
            relay: self.relay.clone(),
            tasks: self.tasks.clone(),
            idle: self.udp_idle,
            peers: self.udp_peers,
            proxy: None,
        }
    }

    /// Tells every page where a listener is now.
    fn announce(&self, listeners: &Listeners, transport: Transport) {
        let listen = listeners.addr(transport).map(|a| a.to_string());
        let (groups, fingerprint) = match transport {
            Transport::Tcp => (Vec::new(), None),
            Transport::Tls => (Vec::new(), listeners.fingerprint()),
            Transport::Udp => (listeners.groups(), None),
        };
        self.relay
            .hub
            .set_listener(transport, listen, groups, fingerprint);
    }
}

/// A socket bound at start, for [`Commands::start_bound`] and [`Commands::start_proxy`].
pub enum Bound {
    Stream(tokio::net::TcpListener),
    Datagram(tokio::net::UdpSocket),
}

/// Binds a proxy's socket: a UDP socket for a UDP proxy, else a TCP listener.
pub fn bind_proxy(spec: &ProxySpec) -> std::io::Result<Bound> {
    match spec.client {
        Transport::Udp => bind::udp(spec.listen).map(Bound::Datagram),
        _ => bind::tcp(spec.listen).map(Bound::Stream),
    }
}

fn parse_group(group: &str) -> Result<IpAddr, Problem> {
    group.trim().parse().map_err(|_| {
        group_failed(format!(
            "`{group}` is not an IP address: a multicast group is written like 239.1.2.3 or \
             ff15::1"
        ))
    })
}

fn no_udp_socket() -> Problem {
    group_failed(
        "the UDP socket is not open: start it first (listen with UDP), then join the group".into(),
    )
}

/// A multicast group the UDP socket could not join or leave.
fn group_failed(why: String) -> Problem {
    Problem::new(ProblemKind::ListenFailed, why).at_listener(Transport::Udp, None)
}
