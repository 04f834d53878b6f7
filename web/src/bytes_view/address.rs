//! Socket addresses as the bridge writes them, read back for the page's own use.

/// How a connection's peer can be reached from this machine, for the "connect with nc" hint:
/// an unspecified listener address (`0.0.0.0`, `[::]`) becomes `127.0.0.1`.
pub fn reachable_address(listen: &str) -> Option<(String, u16)> {
    let (host, port) = listen.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = match host {
        "0.0.0.0" | "::" | "" => "127.0.0.1",
        other => other,
    };
    Some((host.to_string(), port))
}

/// `host:port` or `[v6]:port` as the bridge writes addresses, split for a new dial.
pub fn split_address(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nc_hint_uses_a_reachable_address() {
        assert_eq!(
            reachable_address("0.0.0.0:7777"),
            Some(("127.0.0.1".into(), 7777))
        );
        assert_eq!(
            reachable_address("[::]:9000"),
            Some(("127.0.0.1".into(), 9000))
        );
        assert_eq!(reachable_address("[::1]:9000"), Some(("::1".into(), 9000)));
        assert_eq!(
            reachable_address("192.168.1.5:80"),
            Some(("192.168.1.5".into(), 80))
        );
        assert_eq!(reachable_address("nonsense"), None);
    }

    #[test]
    fn addresses_split_for_a_new_dial() {
        assert_eq!(
            split_address("127.0.0.1:7777"),
            Some(("127.0.0.1".into(), 7777))
        );
        assert_eq!(split_address("[::1]:80"), Some(("::1".into(), 80)));
        assert_eq!(split_address("example.com:x"), None);
    }
}
