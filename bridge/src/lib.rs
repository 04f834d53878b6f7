//! The bridge: TCP, TLS and UDP peers on one side, web pages on the other, and the hub between
//! them.
//!
//! ```text
//! peers <-> connection tasks <-> hub (state, history, fan-out) <-> WebSocket sessions <-> pages
//!           (listener, dialer, udp)                                 (commands)
//! ```
//! [`start`] binds both sockets and returns a [`Bridge`] handle; [`Bridge::shutdown`] closes
//! every connection and session and stops the HTTP server. The binary is a thin wrapper around
//! these two, and so are the integration tests.
//!
//! Where things are: a page's commands are carried out in `commands` (which owns the
//! listeners); a conversation's bytes go through `conversation` (its sides' reading and writing,
//! over a stream, TCP or TLS, or datagrams, UDP, whose sockets are `udp`'s, or a proxy's pair of
//! streams, whose clients `proxy` accepts), `hub` (state and fan-out, with `history`,
//! `backpressure` and `transcript`), and `session` (one per WebSocket).

mod assets;
mod backpressure;
mod bind;
mod clock;
mod commands;
mod config;
mod conversation;
mod dial_rules;
mod dialer;
mod framer;
mod history;
mod http_server;
mod hub;
mod listener;
mod matching;
mod open_files;
mod page_socket;
mod proxy;
pub mod recording;
mod rules;
mod rules_file;
mod rules_save;
mod session;
mod shutdown;
mod start_error;
pub mod subcommands;
pub mod tls;
mod transcript;
mod udp;
mod web;
mod when_woken;

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use protocol::{ConnSettings, Problem, ProblemKind, Run, ServerInfo, Transport};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Config, DialRule, ProxySpec};
pub use shutdown::stop_signal;
pub use start_error::StartError;

use commands::{Commands, DialPolicy};
use conversation::{Relay, Slots};
use hub::{Hub, HubConfig};
use transcript::Transcript;

/// How long shutdown waits for connections and sessions to finish closing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running bridge.
pub struct Bridge {
    /// Where the TCP listener was bound at start, unless listening was off. A page may move or
    /// stop it since (`listen`, `stop_listening`); pages are told where it is now.
    pub listen_addr: Option<SocketAddr>,
    /// Why there is no listener although one was wanted: the default port was taken.
    pub listen_problem: Option<Problem>,
    /// Where the TLS listener was bound at start (`--tls-listen`).
    pub tls_addr: Option<SocketAddr>,
    /// The SHA-256 fingerprint of the TLS listener's certificate, when it runs.
    pub tls_fingerprint: Option<String>,
    /// Where the UDP socket was bound at start (`--udp`).
    pub udp_addr: Option<SocketAddr>,
    /// Each `--proxy`: where it listens (its port chosen, if it was 0), its target as written
    /// (`tls:` before it for TLS, `udp:` for UDP), and how its clients speak to it.
    pub proxies: Vec<(SocketAddr, String, Transport)>,
    /// Where the web app and its WebSocket are served.
    pub http_addr: SocketAddr,
    /// The token the WebSocket requires, if it requires one (see [`access_token`]).
    pub token: Option<String>,
    hub: Hub,
    /// Every connection, listener and session task, so that shutdown can wait for them.
    tasks: TaskTracker,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
}

/// Binds the TCP listener and the HTTP server, and starts serving.
pub async fn start(config: Config) -> Result<Bridge, StartError> {
    if let Some(dir) = &config.web_dir {
        if !dir.is_dir() {
            return Err(StartError::WebDir { dir: dir.clone() });
        }
    }
    let open_files = open_files::raise();
    // A large rule set takes a while to compile: on a thread of its own, while the rest starts.
    let rules = tokio::task::spawn_blocking({
        let path = config.rules.clone();
        move || read_rules(path.as_deref())
    });
    for spec in &config.proxy {
        spec.check(&config.allow_dial, config.dial_timeout())
            .await
            .map_err(|why| StartError::Proxy {
                spec: spec.to_string(),
                why,
            })?;
    }
    let sockets = Sockets::bind(&config)?;
    let certificate = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            Some(tls::Acceptor::from_pem_files(cert, key).map_err(StartError::Tls)?)
        }
        _ => None,
    };
    let mut dial = dial_policy(&config)?;
    let http = TcpListener::bind(config.http)
        .await
        .map_err(|source| StartError::Http {
            addr: config.http,
            source,
        })?;
    let http_addr = http.local_addr().unwrap_or(config.http);
    dial.own_http = Some(http_addr);
    let transcript = match &config.transcript {
        Some(path) => Some(open_transcript(path.clone()).await?),
        None => None,
    };
    let rules = rules.await.expect("reading the rules does not panic")?;
    let rules_path = config.rules.as_deref().map(rules_save::RulesPath::new);

    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let problem = sockets.listen_problem.clone();
    let mut hub_config = hub_config(&config, problem, rules, transcript, &shutdown);
    hub_config.server.rules_file = rules_path.as_ref().map(|p| p.name().to_owned());
    let hub = Hub::new(hub_config);
    tasks.spawn(hub.clone().publish_changes());
    let relay = Relay {
        hub: hub.clone(),
        exit_word: config.exit_word().map(|w| w.as_bytes().into()),
        shutdown: shutdown.clone(),
    };
    let commands = Arc::new(
        Commands::new(
            relay,
            Slots::new(config.max_conns),
            dial,
            config.udp_idle(),
            usize::try_from(config.udp_peers).unwrap_or(usize::MAX),
            tasks.clone(),
            certificate,
        )
        .saving_rules_to(rules_path),
    );
    let started = sockets.start(&commands).await?;
    let token = access_token(&config, http_addr);
    let sessions = session::Sessions {
        commands: commands.clone(),
        hub: hub.clone(),
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
        page_timeout: config.page_timeout(),
        pages: Arc::new(tokio::sync::Semaphore::new(config.max_pages)),
        max_pages: config.max_pages,
    };
    let pending = open_files::http_pending(open_files, http_server::MAX_PENDING);
    let server = serve(&config, http, sessions, token.clone(), pending);
    tracing::info!(listen_addr = ?started.listen_addr, %http_addr, "bridge started");
    Ok(Bridge {
        listen_addr: started.listen_addr,
        listen_problem: started.listen_problem,
        tls_addr: started.tls_addr,
        tls_fingerprint: commands.tls_fingerprint().await,
        udp_addr: started.udp_addr,
        proxies: started.proxies,
        http_addr,
        token,
        hub,
        tasks,
        shutdown,
        server,
    })
}

/// The listeners' sockets, bound before anything runs, so that a taken port fails the start.
struct Sockets {
    tcp: Option<TcpListener>,
    /// Why there is no TCP listener although one was wanted: the default port was taken.
    listen_problem: Option<Problem>,
    tls: Option<TcpListener>,
    udp: Option<UdpSocket>,
    /// `--proxy`'s listeners and UDP sockets.
    proxies: Vec<(ProxySpec, commands::Bound)>,
}

/// Where the listeners run, once started.
struct Started {
    listen_addr: Option<SocketAddr>,
    listen_problem: Option<Problem>,
    tls_addr: Option<SocketAddr>,
    udp_addr: Option<SocketAddr>,
    proxies: Vec<(SocketAddr, String, Transport)>,
}

impl Sockets {
    fn bind(config: &Config) -> Result<Sockets, StartError> {
        let (tcp, listen_problem) = match config.listen_addr() {
            None => (None, None),
            // The tutorial's own server may hold the tutorial's port: the bridge is still useful
            // (it can dial that server), so it starts and says so. An address asked for by name
            // must be had.
            Some(addr) if config.listen.is_none() => match bind::tcp_or_ipv4(addr) {
                Ok(listener) => (Some(listener), None),
                Err(source) => (None, Some(default_taken(addr, &source))),
            },
            Some(addr) => match bind::tcp(addr) {
                Ok(listener) => (Some(listener), None),
                Err(source) => return Err(StartError::listen(Transport::Tcp, addr, source)),
            },
        };
        let tls = match config.tls_listen {
            Some(addr) => {
                Some(bind::tcp(addr).map_err(|e| StartError::listen(Transport::Tls, addr, e))?)
            }
            None => None,
        };
        let udp = match config.udp {
            Some(addr) => {
                Some(bind::udp(addr).map_err(|e| StartError::listen(Transport::Udp, addr, e))?)
            }
            None => None,
        };
        let mut proxies = Vec::new();
        for spec in &config.proxy {
            let bound = commands::bind_proxy(spec).map_err(|e| StartError::Proxy {
                spec: spec.to_string(),
                why: format!(
                    "cannot listen on {}: {}; pick another LISTEN",
                    spec.listen,
                    bind::explain(&e)
                ),
            })?;
            proxies.push((spec.clone(), bound));
        }
        Ok(Sockets {
            tcp,
            listen_problem,
            tls,
            udp,
            proxies,
        })
    }

    /// Starts accepting and receiving on every socket bound, and says where.
    async fn start(self, commands: &Commands) -> Result<Started, StartError> {
        let mut started = Started {
            listen_addr: self.tcp.as_ref().and_then(|l| l.local_addr().ok()),
            listen_problem: self.listen_problem,
            tls_addr: self.tls.as_ref().and_then(|l| l.local_addr().ok()),
            udp_addr: self.udp.as_ref().and_then(|s| s.local_addr().ok()),
            proxies: Vec::new(),
        };
        for (spec, bound) in self.proxies {
            let addr =
                commands
                    .start_proxy(&spec, bound)
                    .await
                    .map_err(|why| StartError::Proxy {
                        spec: spec.to_string(),
                        why,
                    })?;
            started
                .proxies
                .push((addr, spec.target_text(), spec.client));
        }
        let sockets = [
            (Transport::Tcp, self.tcp.map(commands::Bound::Stream)),
            (Transport::Tls, self.tls.map(commands::Bound::Stream)),
            (Transport::Udp, self.udp.map(commands::Bound::Datagram)),
        ];
        for (transport, socket) in sockets {
            if let Some(socket) = socket {
                // Only the certificate can fail here, the sockets being bound already.
                commands
                    .start_bound(transport, socket)
                    .await
                    .map_err(StartError::Tls)?;
            }
        }
        Ok(started)
    }
}

/// The rules file (`--rules`), read and compiled within the bounds a page's rule set has;
/// none without the flag. It blocks: run it off the async workers.
fn read_rules(path: Option<&Path>) -> Result<(rules_file::RulesFile, rules::RuleSet), StartError> {
    let refused = |why: String| StartError::Rules {
        path: path.map(Path::to_path_buf).unwrap_or_default(),
        why,
    };
    let rules_file = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| refused(e.to_string()))?;
            rules_file::parse_rules_file(&text).map_err(refused)?
        }
        None => rules_file::RulesFile::default(),
    };
    let rules = rules::RuleSet::compile(&rules_file.rules).map_err(|why| refused(why.into()))?;
    Ok((rules_file, rules))
}

/// The hub's limits, and what pages are first told about the bridge: its exit word, encoding,
/// how connections are read (the flags, else the rules file's framing), the rules, and why there
/// is no listener, if so.
fn hub_config(
    config: &Config,
    listen_problem: Option<Problem>,
    (rules_file, rules): (rules_file::RulesFile, rules::RuleSet),
    transcript: Option<Transcript>,
    shutdown: &CancellationToken,
) -> HubConfig {
    let defaults = ConnSettings {
        framing: config
            .framing
            .clone()
            .or(rules_file.framing)
            .unwrap_or_default(),
        checksum: config.checksum,
    };
    let server = ServerInfo {
        exit_word: config.exit_word().map(str::to_owned),
        listen_problem,
        encoding: config.encoding,
        defaults,
        rules: rules_file.rules,
        run: Some(this_run()),
        ..ServerInfo::default()
    };
    HubConfig {
        server,
        history_bytes: config.history_bytes,
        history_total: config.history_total,
        send_queue: config.send_queue,
        shutdown: shutdown.clone(),
        transcript,
        rules,
    }
}

/// Serves the web app and its WebSocket on `http` until shutdown.
fn serve(
    config: &Config,
    http: TcpListener,
    sessions: session::Sessions,
    token: Option<String>,
    pending: usize,
) -> JoinHandle<()> {
    let stopped = sessions.shutdown.clone();
    let app = web::router(
        sessions,
        &config.allow_origin,
        token,
        config.web_dir.as_deref(),
    );
    tokio::spawn(http_server::serve(http, app, stopped, pending))
}

impl Bridge {
    /// The address to open in a browser (loopback when serving on every interface), with the
    /// access token when there is one.
    pub fn url(&self) -> String {
        let mut addr = self.http_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        match &self.token {
            Some(token) => format!("http://{addr}/?token={token}"),
            None => format!("http://{addr}"),
        }
    }

    /// Stops accepting, closes every TCP connection and WebSocket, stops the HTTP server, and
    /// flushes the transcript.
    /// Waits at most a few seconds for stragglers (a page that reads nothing, say).
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tasks.close();
        let all_done = async {
            let _ = self.server.await;
            self.tasks.wait().await;
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, all_done)
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time; stopping anyway");
        }
        self.hub.finish_transcript().await;
    }
}

/// Opens the transcript on a thread of its own: a FIFO's open waits for a program to read it,
/// and meanwhile the bridge must still hear Ctrl-C and SIGTERM.
async fn open_transcript(path: PathBuf) -> Result<Transcript, StartError> {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_fifo()) {
        tracing::warn!(
            "the transcript {} is a FIFO: waiting for a program to read it (`cat {0}`, say)",
            path.display()
        );
    }
    let run = clock::now();
    let opening = path.clone();
    tokio::task::spawn_blocking(move || Transcript::open(&opening, run))
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
        .map_err(|source| StartError::Transcript { path, source })
}

/// The token the WebSocket requires: the one given with `--token`, else a fresh random one when
/// the page is served beyond loopback, where anyone who reaches the port could otherwise make the
/// bridge dial out. On loopback the `Origin` and `Host` checks suffice.
fn access_token(config: &Config, http_addr: SocketAddr) -> Option<String> {
    if config.token.is_some() || http_addr.ip().is_loopback() {
        return config.token.clone();
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// This run of the bridge: a random id (53 bits, exact in JavaScript) and the time it started,
/// so that a page reconnecting can tell a restart from the same bridge reached again.
fn this_run() -> Run {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    Run {
        id: u64::from_le_bytes(bytes) & ((1 << 53) - 1),
        started_at: clock::now(),
    }
}

/// What to tell the user when the default listener address cannot be had.
fn default_taken(addr: SocketAddr, e: &io::Error) -> Problem {
    let why = match e.kind() {
        io::ErrorKind::AddrInUse => format!(
            "port {} is in use (is your own server running?): dial it from the page, or listen elsewhere",
            addr.port()
        ),
        _ => format!(
            "cannot listen for TCP on {addr}: {}; listen elsewhere from the page",
            bind::explain(e)
        ),
    };
    Problem::new(ProblemKind::ListenFailed, why).at_listener(Transport::Tcp, Some(addr.port()))
}

/// How dials are made: `--dial-timeout`, `--allow-dial`, and the two ways of dialling with TLS:
/// verifying certificates (against the bundled roots and `--tls-ca`), and accepting any.
fn dial_policy(config: &Config) -> Result<DialPolicy, StartError> {
    let extra_roots_pem = match &config.tls_ca {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            StartError::Tls(format!("cannot read --tls-ca {}: {e}", path.display()))
        })?),
        None => None,
    };
    let verifying = tls::ClientOptions {
        extra_roots_pem,
        ..tls::ClientOptions::default()
    };
    let any = tls::ClientOptions {
        accept_any_certificate: true,
        ..tls::ClientOptions::default()
    };
    let flag = |why: String| match &config.tls_ca {
        Some(path) => StartError::Tls(format!("--tls-ca {}: {why}", path.display())),
        None => StartError::Tls(why),
    };
    Ok(DialPolicy {
        timeout: config.dial_timeout(),
        rules: config.allow_dial.clone(),
        tls: tls::Connector::new(&verifying).map_err(flag)?,
        tls_any: tls::Connector::new(&any).map_err(flag)?,
        own_http: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn a_token_is_required_beyond_loopback() {
        let config = Config::parse_from(["bridge"]);
        let loopback = "127.0.0.1:8080".parse().unwrap();
        let everywhere = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(access_token(&config, loopback), None);
        assert_eq!(access_token(&config, "[::1]:8080".parse().unwrap()), None);
        let generated = access_token(&config, everywhere).expect("a token");
        assert_eq!(generated.len(), 32);
        assert_ne!(access_token(&config, everywhere), Some(generated));

        let given = Config::parse_from(["bridge", "--token", "given-token"]);
        assert_eq!(
            access_token(&given, loopback).as_deref(),
            Some("given-token")
        );
        assert_eq!(
            access_token(&given, everywhere).as_deref(),
            Some("given-token")
        );
    }
}
