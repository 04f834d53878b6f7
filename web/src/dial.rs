//! A dial the page asks the bridge for, and the dial form's fields checked into one: pure, so
//! it is tested natively. The form keeps what the user typed as it is; only a dial that goes out
//! is cut into host and port.

use protocol::{Command, ConnInfo, Origin, RequestId, Transport};

/// A dial the page asks the bridge for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    pub host: String,
    pub port: u16,
    pub transport: Transport,
    /// With TLS: connect whatever certificate the server presents.
    pub accept_any_certificate: bool,
}

impl Dial {
    /// Plain TCP to `host:port`.
    pub fn tcp(host: impl Into<String>, port: u16) -> Dial {
        Dial {
            host: host.into(),
            port,
            transport: Transport::Tcp,
            accept_any_certificate: false,
        }
    }

    /// The same dial again, for a closed connection the bridge dialled: the same transport,
    /// and for TLS the same trust (a server taken unverified is taken so again).
    pub fn again(info: &ConnInfo) -> Option<Dial> {
        let (host, port) = protocol::address::split(&info.peer)?;
        (info.origin == Origin::Dialled).then(|| Dial {
            accept_any_certificate: crate::components::transport_badge::unverified(info),
            transport: info.transport,
            ..Dial::tcp(host, port)
        })
    }

    /// The command that asks for it, with the page's `request` id.
    pub fn command(self, request: RequestId) -> Command {
        Command::Dial {
            host: self.host,
            port: self.port,
            request: Some(request),
            accept_any_certificate: self.accept_any_certificate && self.transport == Transport::Tls,
            transport: self.transport,
        }
    }
}

/// Checks the form's port field.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(port) if (1..=65535).contains(&port) => Ok(port as u16),
        _ => Err("Port must be a whole number from 1 to 65535.".into()),
    }
}

/// `host:port` (or `[v6]:port`) as its host and port; `None` for a host alone (an IPv6 address
/// without brackets is a host alone).
pub fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = protocol::address::split(text)?;
    Some((host.to_string(), port))
}

/// Which of the form's fields a problem is about (`Form`: the request as a whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Host,
    Port,
    Form,
}

/// The dial that the fields ask for, or what is wrong with them and where. `host:port` in the
/// host field is taken over the port field.
pub fn dial_of(
    host: &str,
    port: &str,
    transport: Transport,
    accept_any_certificate: bool,
) -> Result<Dial, (Field, String)> {
    let (host, port) = match split_host_port(host) {
        Some((h, p)) => (h, p.to_string()),
        None => (host.trim().to_string(), port.to_string()),
    };
    if host.is_empty() {
        let msg = "Enter a host name or an IP address.";
        return Err((Field::Host, msg.into()));
    }
    let port = parse_port(&port).map_err(|msg| (Field::Port, msg))?;
    Ok(Dial {
        transport,
        accept_any_certificate,
        ..Dial::tcp(host, port)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_come_apart() {
        assert_eq!(
            split_host_port("192.168.100.200:502"),
            Some(("192.168.100.200".into(), 502))
        );
        assert_eq!(
            split_host_port("[fe80::1]:7777"),
            Some(("fe80::1".into(), 7777))
        );
        assert_eq!(
            split_host_port(" device.local:23 "),
            Some(("device.local".into(), 23))
        );
        for alone in ["192.168.100.200", "fe80::1:7777", "::1", "host:", "host:x"] {
            assert_eq!(split_host_port(alone), None, "{alone}");
        }
    }

    #[test]
    fn a_dial_again_keeps_its_transport_and_its_trust() {
        use protocol::tls::TlsInfo;
        use protocol::ConnState;
        let mut info = ConnInfo::new(
            3,
            Origin::Dialled,
            "[::1]:8443".into(),
            ConnState::Closed,
            0,
        );
        info.transport = Transport::Tls;
        info.tls = Some(Box::new(TlsInfo {
            version: "TLSv1.3".into(),
            cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
            key_exchange: None,
            alpn: None,
            server_name: Some("::1".into()),
            peer_verified: false,
            peer_certificate: None,
        }));
        let again = Dial::again(&info).unwrap();
        assert_eq!((again.host.as_str(), again.port), ("::1", 8443));
        assert_eq!(again.transport, Transport::Tls);
        assert!(again.accept_any_certificate);
        info.origin = Origin::Accepted;
        assert_eq!(
            Dial::again(&info),
            None,
            "a peer that called us is not dialled"
        );
    }

    #[test]
    fn accept_any_goes_only_with_tls() {
        let udp = Dial {
            transport: Transport::Udp,
            accept_any_certificate: true,
            ..Dial::tcp("127.0.0.1", 9)
        };
        assert_eq!(
            udp.command(7),
            Command::Dial {
                host: "127.0.0.1".into(),
                port: 9,
                request: Some(7),
                transport: Transport::Udp,
                accept_any_certificate: false,
            }
        );
    }

    #[test]
    fn ports_are_checked() {
        assert_eq!(parse_port("7777"), Ok(7777));
        assert_eq!(parse_port(" 1 "), Ok(1));
        assert_eq!(parse_port("65535"), Ok(65535));
        for bad in ["0", "65536", "", "abc", "-1", "80.5", "99999999999"] {
            assert!(parse_port(bad).is_err(), "{bad:?}");
        }
    }
}
