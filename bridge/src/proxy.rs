//! `--proxy LISTEN=TARGET`: the bridge stands between a client and its server. It listens on
//! LISTEN; each client it accepts is a conversation at once (connecting), for which the bridge
//! dials TARGET; once the server answers, the two are relayed to each other
//! ([`crate::conversation::pair`]) and shown as one conversation with two sides. A target that
//! refuses or does not answer within `--dial-timeout` closes the client's connection, and the
//! conversation says why.
//!
//! Either side may speak TLS, written as the page names transports, before its address:
//! `tls:LISTEN` terminates TLS with the TLS listener's certificate (`--tls-cert`, or the
//! self-signed one), `tls:TARGET` dials the server with TLS and checks its certificate as a dial
//! does (the bundled roots and `--tls-ca`), `tls-any:TARGET` takes whatever certificate it
//! presents. The client's handshake comes first: a client that cannot speak TLS costs its
//! server no connection. A failed handshake on either side closes the pair with the reason.
//!
//! `udp:LISTEN` is a UDP proxy ([`run_datagrams`]): each address that sends to LISTEN is a
//! conversation, with a UDP socket of its own connected to TARGET, datagram by datagram both
//! ways, until `--udp-idle` passes with none, as the UDP socket's conversations do.
//!
//! The target is checked at start as a page's dial would be (`--allow-dial`), and its name
//! resolved, so that a proxy that could never reach its server does not start.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protocol::address::{self, Scheme};
use protocol::tls::TlsInfo;
use protocol::{ProxyInfo, Transport};

use protocol::address::with_scheme as side;
use tokio::net::{lookup_host, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::conversation::datagram::{UdpClient, UdpServer};
use crate::conversation::pair::{self, Datagrams};
use crate::conversation::{canonical, Relay};
use crate::dial_rules::{self, DialRule};
use crate::dialer::{self, Dial, Via};
use crate::hub::Opened;
use crate::tls::{self, Acceptor};

/// One `--proxy`: where to listen and how its clients speak, and the server to relay each
/// client to and how the bridge speaks to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySpec {
    pub listen: SocketAddr,
    /// TCP, TLS (terminated with the bridge's certificate), or UDP.
    pub client: Transport,
    /// A name or an IP literal, without brackets.
    pub host: String,
    pub port: u16,
    /// TCP, TLS, or UDP (a UDP proxy's, and only a UDP proxy's).
    pub server: Transport,
    /// TLS to the server taking whatever certificate it presents (`tls-any:`).
    pub accept_any: bool,
}

/// A target as `HOST:PORT`.
pub fn target_address(text: &str) -> Option<(&str, u16)> {
    address::split(text).filter(|(host, _)| !host.contains(char::is_whitespace))
}

impl ProxySpec {
    /// Parses `LISTEN=TARGET`: `127.0.0.1:1502=192.168.1.20:502`, `[::]:8443=device.local:443`,
    /// with a transport before either side: `tls:[::]:8443=127.0.0.1:80`,
    /// `127.0.0.1:1443=tls:device.local:443`, `udp:[::]:5353=10.0.0.1:53`.
    pub fn parse(text: &str) -> Result<ProxySpec, String> {
        let text = text.trim();
        let how = "write LISTEN=TARGET, an address to listen on and the server to relay to, \
                   e.g. 127.0.0.1:1502=192.168.1.20:502 or [::]:8443=device.local:443, with \
                   tls: or udp: before a side for TLS or UDP (tls:[::]:8443=127.0.0.1:80, \
                   udp:[::]:5353=10.0.0.1:53)";
        let Some((listen, target)) = text.split_once('=') else {
            return Err(format!("`{text}` is not a proxy: {how}"));
        };
        let (client, listen) = side(listen, |t| t.parse().ok()).ok_or_else(|| {
            format!(
                "`{}` is not an address to listen on: write IP:PORT (127.0.0.1:1502, \
                 [::]:1502 for every interface); {how}",
                listen.trim()
            )
        })?;
        let (server, (host, port)) = side(target, target_address).ok_or_else(|| {
            format!("`{target}` is not a server to relay to: write HOST:PORT; {how}")
        })?;
        ProxySpec::new(listen, client, (host, port), server)
    }

    /// A proxy from its sides as written; refused when their transports cannot go together.
    pub fn new(
        listen: SocketAddr,
        client: Option<Scheme>,
        (host, port): (&str, u16),
        server: Option<Scheme>,
    ) -> Result<ProxySpec, String> {
        let (client, server, accept_any) = match (client, server) {
            (Some(Scheme::TlsAny), _) => {
                return Err(
                    "`tls-any:` is for the server's side, whose certificate the bridge \
                            checks; the client's side of a TLS proxy is `tls:`, with the bridge's \
                            own certificate (--tls-cert and --tls-key, or a self-signed one)"
                        .into(),
                )
            }
            (Some(Scheme::Udp), None | Some(Scheme::Udp)) => {
                (Transport::Udp, Transport::Udp, false)
            }
            (Some(Scheme::Udp), Some(_)) | (_, Some(Scheme::Udp)) => {
                return Err(
                    "a UDP proxy is UDP on both sides: write udp:LISTEN=HOST:PORT (the \
                            bridge does not turn a stream into datagrams, nor speak TLS over \
                            UDP)"
                        .into(),
                )
            }
            (client, server) => (
                match client {
                    Some(Scheme::Tls) => Transport::Tls,
                    _ => Transport::Tcp,
                },
                match server {
                    Some(Scheme::Tls | Scheme::TlsAny) => Transport::Tls,
                    _ => Transport::Tcp,
                },
                server == Some(Scheme::TlsAny),
            ),
        };
        Ok(ProxySpec {
            listen,
            client,
            host: host.to_owned(),
            port,
            server,
            accept_any,
        })
    }

    /// `host:port`, as the conversation names it.
    pub fn target(&self) -> String {
        address::join(&self.host, self.port)
    }

    /// The target as written, with its transport: `tls:device.local:443`.
    pub fn target_text(&self) -> String {
        let scheme = match (self.server, self.accept_any) {
            (Transport::Tls, true) => "tls-any:",
            (transport, _) => prefix(transport),
        };
        format!("{scheme}{}", self.target())
    }

    /// Whether the proxy may dial its target at all: `--allow-dial` allows it, and its name
    /// resolves (within `timeout`). A proxy that could never reach its server is refused at
    /// start.
    pub async fn check(&self, rules: &[DialRule], timeout: Duration) -> Result<(), String> {
        self.allowed(rules)?;
        self.resolves(timeout).await
    }

    /// Whether `--allow-dial` lets the proxy dial its target.
    pub fn allowed(&self, rules: &[DialRule]) -> Result<(), String> {
        if dial_rules::allowed(rules, &self.host, self.port) {
            return Ok(());
        }
        let rules: Vec<String> = rules.iter().map(ToString::to_string).collect();
        Err(format!(
            "not allowed to dial {}: this bridge may dial only {} (--allow-dial)",
            self.target(),
            rules.join(", ")
        ))
    }

    /// Whether the target's name resolves, within `timeout`.
    pub async fn resolves(&self, timeout: Duration) -> Result<(), String> {
        match tokio::time::timeout(timeout, lookup_host((self.host.as_str(), self.port))).await {
            Err(_) => Err(format!(
                "looking up {} took more than {} s (--dial-timeout)",
                self.host,
                timeout.as_secs_f64()
            )),
            Ok(Err(e)) => Err(format!("no such host: {} ({e})", self.host)),
            Ok(Ok(mut addrs)) => match addrs.next() {
                None => Err(format!("no such host: {} (it has no addresses)", self.host)),
                Some(_) => Ok(()),
            },
        }
    }
}

/// A transport as a side of a proxy names it: nothing for TCP, the default.
pub fn prefix(transport: Transport) -> &'static str {
    match transport {
        Transport::Tcp => "",
        Transport::Tls => "tls:",
        Transport::Udp => "udp:",
    }
}

impl fmt::Display for ProxySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let client = prefix(self.client);
        write!(f, "{client}{}={}", self.listen, self.target_text())
    }
}

/// Where a proxy's clients are relayed, and how its server is dialled.
pub struct Forward {
    /// For `tls:LISTEN`: the certificate clients are greeted with. Here, shared by the proxy's
    /// conversations, rather than in each one's task for its whole life.
    pub acceptor: Option<Acceptor>,
    pub host: String,
    pub port: u16,
    /// TCP, TLS with the connector's checks, or UDP (from a socket of its own).
    pub via: Via,
    /// `--dial-timeout`.
    pub timeout: Duration,
    /// The bridge's own HTTP address, which it never dials.
    pub own_http: Option<SocketAddr>,
}

impl Forward {
    pub fn target(&self) -> String {
        address::join(&self.host, self.port)
    }

    /// What pages first learn of a client's server: the target, and how it is spoken to.
    pub fn info(&self) -> ProxyInfo {
        ProxyInfo::to(self.target()).over(self.via.transport())
    }

    fn dial(&self) -> Dial {
        Dial {
            host: self.host.clone(),
            port: self.port,
            via: self.via.clone(),
            timeout: self.timeout,
            own_http: self.own_http,
        }
    }

    /// Why the client's connection was closed without its server.
    fn unreached(&self, why: &str) -> String {
        format!(
            "the server {} could not be reached: {why}; the client's connection was closed",
            self.target()
        )
    }
}

/// A proxy's client, as the bridge reads it. A TLS stream is boxed: its state is large, and
/// a plain TCP pair should not carry room for it.
enum Client {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<tls::Greeted<TcpStream>>>),
}

/// Its server, as the bridge dialled it.
enum Server {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

/// A client the proxy's listener accepted: speaks TLS with it if the proxy's client side is
/// TLS, dials its server (with TLS, if its side is), then relays the two until the conversation
/// ends; or closes the client's connection with the reason that failed. The permit counts the
/// conversation against `--max-conns` while it lives.
pub async fn run(
    relay: Relay,
    opened: Opened,
    client: TcpStream,
    forward: Arc<Forward>,
    permit: OwnedSemaphorePermit,
) {
    let id = opened.id;
    // Reached in a block of its own, whose locals end with it: what connecting holds (each
    // side's TLS details, handed to the hub) would otherwise take room in the task for the
    // conversation's whole life, as a named local of the function does.
    let (client, server) = {
        let reached = tokio::select! {
            reached = reach(client, &forward) => reached,
            () = opened.cancel.cancelled() => {
                return relay.hub.close(id, relay.cancel_reason().into());
            }
        };
        match reached {
            Ok((client, server, (peer, local), tls)) => {
                relay.hub.proxied(id, peer, local, tls);
                (client, server)
            }
            // The client learns it as a client of an absent server would: its connection ends.
            Err(reason) => return relay.hub.close(id, reason),
        }
    };
    // One relay for each pair of kinds, each as fast as its kinds allow. (The relay and the
    // conversation are moved into each as they are: a local of their own would take room in the
    // task besides theirs.)
    match (client, server) {
        (Client::Tcp(c), Server::Tcp(s)) => {
            pair::converse_and_close(relay, opened, c, s).await;
        }
        (Client::Tcp(c), Server::Tls(s)) => {
            Box::pin(pair::converse_and_close(relay, opened, c, s)).await;
        }
        (Client::Tls(c), Server::Tcp(s)) => {
            Box::pin(pair::converse_and_close(relay, opened, c, s)).await;
        }
        (Client::Tls(c), Server::Tls(s)) => {
            Box::pin(pair::converse_and_close(relay, opened, c, s)).await;
        }
    }
    drop(permit);
}

/// The client's side and its server's, ready to relay: the server's address and the bridge's
/// end toward it, and the TLS details of each side; or why not, in words.
async fn reach(
    client: TcpStream,
    forward: &Forward,
) -> Result<
    (
        Client,
        Server,
        (SocketAddr, SocketAddr),
        [Option<TlsInfo>; 2],
    ),
    String,
> {
    let (client, client_tls) = match &forward.acceptor {
        None => (Client::Tcp(client), None),
        Some(acceptor) => {
            // The handshakes are boxed, as the relays with TLS are: their state is large, and
            // a TCP pair's task is as large as the largest state it can be in.
            let (stream, info) = Box::pin(acceptor.accept(client))
                .await
                .map_err(|failed| format!("{}; the server was not dialled", failed.reason))?;
            (
                Client::Tls(Box::new(tokio_rustls::TlsStream::Server(stream))),
                Some(info),
            )
        }
    };
    let dial = forward.dial();
    let stream = dialer::tcp(&dial)
        .await
        .map_err(|why| forward.unreached(&why))?;
    let addrs = match (stream.peer_addr(), stream.local_addr()) {
        (Ok(peer), Ok(local)) => (canonical(peer), canonical(local)),
        (Err(e), _) | (_, Err(e)) => {
            return Err(forward.unreached(&format!("lost {} at once: {e}", forward.target())))
        }
    };
    let (server, server_tls) = match &dial.via {
        Via::Tls(connector) => {
            let (stream, info) = Box::pin(connector.connect(stream, &forward.host))
                .await
                .map_err(|failed| {
                    format!(
                        "TLS with the server {} failed: {}; the client's connection was closed",
                        forward.target(),
                        proxy_words(&failed.reason)
                    )
                })?;
            (
                Server::Tls(Box::new(tokio_rustls::TlsStream::Client(stream))),
                Some(info),
            )
        }
        _ => (Server::Tcp(stream), None),
    };
    Ok((client, server, addrs, [client_tls, server_tls]))
}

/// A dial's advice, as a proxy's user follows it: its TARGET written `tls-any:`, or without
/// `tls:`.
fn proxy_words(reason: &str) -> String {
    reason
        .replace(
            "dial with \"accept any certificate\"",
            "write the proxy's TARGET tls-any:HOST:PORT",
        )
        .replace(
            "dial it without TLS",
            "write the proxy's TARGET without tls:",
        )
}

/// A UDP proxy's conversation with one client address, whose datagrams `client` brings: a
/// socket of its own connected to the target, relayed datagram by datagram until `datagrams`
/// says it ends (`--udp-idle`, or the socket making room); or closed with the reason the target
/// could not be reached.
pub async fn run_datagrams(
    relay: Relay,
    opened: Opened,
    client: UdpClient,
    forward: Arc<Forward>,
    datagrams: Datagrams,
) {
    let id = opened.id;
    let over = datagrams.over.clone();
    let dial = forward.dial();
    let reached = tokio::select! {
        reached = dialer::udp(&dial) => reached,
        () = opened.cancel.cancelled() => Err(relay.cancel_reason().into()),
    };
    let server = reached.and_then(|own| match (own.peer_addr(), own.local_addr()) {
        (Ok(peer), Ok(local)) => Ok((own, canonical(peer), canonical(local))),
        (Err(e), _) | (_, Err(e)) => Err(format!("lost {} at once: {e}", forward.target())),
    });
    match server {
        Ok((own, peer, local)) => {
            relay.hub.proxied(id, peer, local, [None, None]);
            let server = UdpServer::new(&relay, id, own, datagrams.heard.clone());
            pair::converse_datagrams_and_close(relay, opened, client, server, datagrams).await;
        }
        Err(why) if opened.cancel.is_cancelled() => relay.hub.close(id, why),
        Err(why) => relay.hub.close(id, forward.unreached(&why)),
    }
    // Its address may start a new conversation now.
    over.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let spec = ProxySpec::parse("127.0.0.1:1502=192.168.1.20:502").unwrap();
        assert_eq!(spec.listen, "127.0.0.1:1502".parse().unwrap());
        assert_eq!((spec.host.as_str(), spec.port), ("192.168.1.20", 502));
        let v6 = ProxySpec::parse("[::]:8443=[::1]:443").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.target(), "[::1]:443");
        assert_eq!(v6.to_string(), "[::]:8443=[::1]:443");
        let named = ProxySpec::parse(" [::1]:1=device.local:502 ").unwrap();
        assert_eq!(named.target(), "device.local:502");
        for (bad, says) in [
            ("127.0.0.1:1502", "is not a proxy: write LISTEN=TARGET"),
            (
                "localhost:1502=1.2.3.4:5",
                "`localhost:1502` is not an address to listen on",
            ),
            (
                "127.0.0.1:1=1.2.3.4",
                "`1.2.3.4` is not a server to relay to",
            ),
            ("127.0.0.1:1=1.2.3.4:99999", "is not a server to relay to"),
            ("127.0.0.1:1=", "is not a server to relay to"),
        ] {
            let err = ProxySpec::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn a_side_names_its_transport_as_the_page_does() {
        let spec = ProxySpec::parse("tls:[::]:8443=127.0.0.1:80").unwrap();
        assert_eq!((spec.client, spec.server), (Transport::Tls, Transport::Tcp));
        assert_eq!(spec.to_string(), "tls:[::]:8443=127.0.0.1:80");
        let spec = ProxySpec::parse("127.0.0.1:1443=TLS:device.local:443").unwrap();
        assert_eq!((spec.client, spec.server), (Transport::Tcp, Transport::Tls));
        assert!(!spec.accept_any);
        assert_eq!(spec.target_text(), "tls:device.local:443");
        let spec = ProxySpec::parse("tls:127.0.0.1:1=tls-any:[::1]:443").unwrap();
        assert_eq!((spec.client, spec.server), (Transport::Tls, Transport::Tls));
        assert!(spec.accept_any);
        assert_eq!(spec.to_string(), "tls:127.0.0.1:1=tls-any:[::1]:443");
        let spec = ProxySpec::parse("udp:[::]:5353=10.0.0.1:53").unwrap();
        assert_eq!((spec.client, spec.server), (Transport::Udp, Transport::Udp));
        assert_eq!(spec.to_string(), "udp:[::]:5353=udp:10.0.0.1:53");
        assert_eq!(ProxySpec::parse(&spec.to_string()), Ok(spec));
        let spec = ProxySpec::parse("tcp:127.0.0.1:1=tcp:h:2").unwrap();
        assert_eq!(spec.to_string(), "127.0.0.1:1=h:2");
        // A host that happens to be named like a transport is still a host.
        let spec = ProxySpec::parse("127.0.0.1:1=tls:443").unwrap();
        assert_eq!((spec.host.as_str(), spec.server), ("tls", Transport::Tcp));
        for (bad, says) in [
            (
                "udp:127.0.0.1:1=tls:h:2",
                "a UDP proxy is UDP on both sides",
            ),
            (
                "udp:127.0.0.1:1=tcp:h:2",
                "a UDP proxy is UDP on both sides",
            ),
            (
                "tls:127.0.0.1:1=udp:h:2",
                "a UDP proxy is UDP on both sides",
            ),
            (
                "tls-any:127.0.0.1:1=h:2",
                "`tls-any:` is for the server's side",
            ),
            (
                "tls:localhost:1=h:2",
                "`tls:localhost:1` is not an address to listen on",
            ),
            ("127.0.0.1:1=tls:h", "`tls:h` is not a server to relay to"),
        ] {
            let err = ProxySpec::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[tokio::test]
    async fn a_target_the_dial_rules_refuse_or_that_does_not_resolve_is_refused() {
        let spec = ProxySpec::parse("127.0.0.1:0=10.0.0.9:502").unwrap();
        let only = [DialRule::parse("127.0.0.1:*").unwrap()];
        let err = spec.check(&only, Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(
            err,
            "not allowed to dial 10.0.0.9:502: this bridge may dial only 127.0.0.1:* (--allow-dial)"
        );
        assert_eq!(spec.check(&[], Duration::from_secs(5)).await, Ok(()));
        let nowhere = ProxySpec::parse("127.0.0.1:0=no-such-host.invalid:502").unwrap();
        let err = nowhere
            .check(&[], Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            err.starts_with("no such host: no-such-host.invalid"),
            "{err}"
        );
    }
}
