//! `host:port` as people write it and as the bridge shows it: an IPv6 literal in brackets
//! (`[::1]:7777`), anything else as is. One place for joining and splitting, so that the page's
//! dial form, the bridge's connection names and the dial rules agree.

/// The port the bridge's TCP listener takes unless told otherwise: the tutorial's, whose server
/// listens there.
pub const DEFAULT_PORT: u16 = 7777;

/// `host:port`, with brackets around an IPv6 literal (a host with a colon in it).
pub fn join(host: &str, port: u16) -> String {
    let host = strip_brackets(host);
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Splits `host:port` or `[v6]:port` into the host (without brackets) and the port.
pub fn split(addr: &str) -> Option<(&str, u16)> {
    let addr = addr.trim();
    let (host, port) = addr.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']')?,
        // A colon left in an unbracketed host means a bare IPv6 literal with no port.
        None if host.contains(':') => return None,
        None => host,
    };
    (!host.is_empty()).then_some((host, port))
}

/// A host as the resolver wants it: an IPv6 literal without the brackets people put around it.
pub fn strip_brackets(host: &str) -> &str {
    let host = host.trim();
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// How a peer on this machine reaches a listener bound at `listen`: an unspecified address
/// (`0.0.0.0`, `[::]`) becomes loopback.
pub fn reachable(listen: &str) -> Option<(String, u16)> {
    let (host, port) = split(listen)?;
    let host = match host {
        "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        other => other,
    };
    Some((host.to_owned(), port))
}

/// How a side of a proxy is written (`--proxy`, the `proxy` command): a transport's name before
/// its address, as the protocol names transports; `tls-any:` is TLS to a server whose
/// certificate is not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Tcp,
    Tls,
    TlsAny,
    Udp,
}

const SCHEMES: [(&str, Scheme); 4] = [
    ("tcp:", Scheme::Tcp),
    ("tls:", Scheme::Tls),
    ("tls-any:", Scheme::TlsAny),
    ("udp:", Scheme::Udp),
];

/// A side of a proxy as written (`tls:[::]:8443`, `device.local:443`): its scheme, if it names
/// one, and its address as `parse` reads it. A host that happens to be named like a scheme
/// (`tls:443`, the host `tls`) is still a host.
pub fn with_scheme<'t, T>(
    text: &'t str,
    parse: impl Fn(&'t str) -> Option<T>,
) -> Option<(Option<Scheme>, T)> {
    let text = text.trim();
    let named = SCHEMES.iter().find_map(|&(prefix, scheme)| {
        let head = text.get(..prefix.len())?;
        let addr = parse(&text[prefix.len()..]);
        head.eq_ignore_ascii_case(prefix)
            .then_some(addr)
            .flatten()
            .map(|addr| (Some(scheme), addr))
    });
    named.or_else(|| parse(text).map(|addr| (None, addr)))
}

/// An address to listen on, as the page and `listen` take it: IP:PORT, or a port alone for
/// every interface (`[::]`, IPv6 and IPv4 where the system allows).
pub fn listen_address(text: &str) -> Option<std::net::SocketAddr> {
    let text = text.trim();
    match text.parse::<u16>() {
        Ok(port) => Some((std::net::Ipv6Addr::UNSPECIFIED, port).into()),
        Err(_) => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_address_is_ip_and_port_or_a_port_alone() {
        let ok = |s: &str| listen_address(s).map(|a| a.to_string());
        assert_eq!(ok("127.0.0.1:7777").as_deref(), Some("127.0.0.1:7777"));
        assert_eq!(ok(" [::1]:80 ").as_deref(), Some("[::1]:80"));
        assert_eq!(ok("7777").as_deref(), Some("[::]:7777"));
        assert_eq!(
            ok("localhost:7777"),
            None,
            "a name is not an address to bind"
        );
        assert_eq!(ok("70000"), None);
        assert_eq!(ok(""), None);
    }

    #[test]
    fn join_and_split_agree() {
        assert_eq!(join("::1", 7), "[::1]:7");
        assert_eq!(join("[::1]", 7), "[::1]:7");
        assert_eq!(join("example.com", 80), "example.com:80");
        assert_eq!(split("127.0.0.1:7777"), Some(("127.0.0.1", 7777)));
        assert_eq!(split("[::1]:80"), Some(("::1", 80)));
        assert_eq!(split(" example.com:8080 "), Some(("example.com", 8080)));
        for bad in [
            "example.com:x",
            "example.com",
            "::1",
            ":80",
            "[::1:80",
            "host:65536",
        ] {
            assert_eq!(split(bad), None, "{bad}");
        }
        for (host, port) in [("10.0.0.1", 1), ("fe80::1", 65535), ("a.b", 7)] {
            assert_eq!(split(&join(host, port)), Some((host, port)));
        }
    }

    #[test]
    fn listeners_are_reached_on_loopback() {
        assert_eq!(reachable("0.0.0.0:7777"), Some(("127.0.0.1".into(), 7777)));
        assert_eq!(reachable("[::]:7777"), Some(("::1".into(), 7777)));
        assert_eq!(
            reachable("192.168.1.5:80"),
            Some(("192.168.1.5".into(), 80))
        );
        assert_eq!(strip_brackets(" [fe80::1] "), "fe80::1");
    }
}
