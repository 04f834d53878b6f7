//! `--proxy LISTEN=TARGET`: the bridge stands between a client and its server. It listens on
//! LISTEN; each client it accepts is a conversation at once (connecting), for which the bridge
//! dials TARGET; once the server answers, the two are relayed to each other
//! ([`crate::conversation::pair`]) and shown as one conversation with two sides. A target that
//! refuses or does not answer within `--dial-timeout` closes the client's connection, and the
//! conversation says why.
//!
//! The target is checked at start as a page's dial would be (`--allow-dial`), and its name
//! resolved, so that a proxy that could never reach its server does not start.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protocol::address;
use tokio::net::{lookup_host, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::conversation::{canonical, pair, Relay};
use crate::dial_rules::{self, DialRule};
use crate::dialer::{self, Dial, Via};
use crate::hub::Opened;

/// One `--proxy`: where to listen, and the server to relay each client to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySpec {
    pub listen: SocketAddr,
    /// A name or an IP literal, without brackets.
    pub host: String,
    pub port: u16,
}

impl ProxySpec {
    /// Parses `LISTEN=TARGET`: `127.0.0.1:1502=192.168.1.20:502`, `[::]:8443=device.local:443`.
    pub fn parse(text: &str) -> Result<ProxySpec, String> {
        let text = text.trim();
        let how = "write LISTEN=TARGET, an address to listen on and the server to relay to, \
                   e.g. 127.0.0.1:1502=192.168.1.20:502 or [::]:8443=device.local:443";
        let Some((listen, target)) = text.split_once('=') else {
            return Err(format!("`{text}` is not a proxy: {how}"));
        };
        let listen = listen.trim().parse().map_err(|_| {
            format!(
                "`{listen}` is not an address to listen on: write IP:PORT (127.0.0.1:1502, \
                 [::]:1502 for every interface); {how}"
            )
        })?;
        let (host, port) = address::split(target)
            .filter(|(host, _)| !host.contains(char::is_whitespace))
            .ok_or_else(|| {
                format!("`{target}` is not a server to relay to: write HOST:PORT; {how}")
            })?;
        Ok(ProxySpec {
            listen,
            host: host.to_owned(),
            port,
        })
    }

    /// `host:port`, as the conversation names it.
    pub fn target(&self) -> String {
        address::join(&self.host, self.port)
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

impl fmt::Display for ProxySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.listen, self.target())
    }
}

/// Where a proxy's clients are relayed, and how its server is dialled.
pub struct Forward {
    pub host: String,
    pub port: u16,
    /// `--dial-timeout`.
    pub timeout: Duration,
    /// The bridge's own HTTP address, which it never dials.
    pub own_http: Option<SocketAddr>,
}

impl Forward {
    pub fn target(&self) -> String {
        address::join(&self.host, self.port)
    }
}

/// A client the proxy's listener accepted: dials its server, then relays the two until the
/// conversation ends; or closes the client's connection with the reason the server could not
/// be reached. The permit counts the conversation against `--max-conns` while it lives.
pub async fn run(
    relay: Relay,
    opened: Opened,
    client: TcpStream,
    forward: Arc<Forward>,
    permit: OwnedSemaphorePermit,
) {
    let id = opened.id;
    let dial = Dial {
        host: forward.host.clone(),
        port: forward.port,
        via: Via::Tcp,
        timeout: forward.timeout,
        own_http: forward.own_http,
    };
    let reached = tokio::select! {
        reached = dialer::tcp(&dial) => reached,
        () = opened.cancel.cancelled() => {
            return relay.hub.close(id, relay.cancel_reason().into());
        }
    };
    let server = reached.and_then(|server| match (server.peer_addr(), server.local_addr()) {
        (Ok(peer), Ok(local)) => Ok((server, canonical(peer), canonical(local))),
        (Err(e), _) | (_, Err(e)) => Err(format!("lost {} at once: {e}", forward.target())),
    });
    match server {
        Ok((server, peer, local)) => {
            relay.hub.proxied(id, peer, local);
            pair::converse_and_close(relay, opened, client, server).await;
        }
        Err(why) => {
            // The client learns it as a client of an absent server would: its connection ends.
            drop(client);
            let reason = format!(
                "the server {} could not be reached: {why}; the client's connection was closed",
                forward.target()
            );
            relay.hub.close(id, reason);
        }
    }
    drop(permit);
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
