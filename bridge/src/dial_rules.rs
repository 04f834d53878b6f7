//! `--allow-dial`: which addresses the page may ask the bridge to dial. Whoever uses the page can
//! otherwise reach anything the bridge's machine can, so an operator can narrow it down.
//!
//! A rule matches the host as the page writes it (case aside; brackets around an IPv6 literal
//! do not matter), not what it resolves to: `localhost:7777` does not allow `127.0.0.1:7777`.

use std::fmt;

/// One `--allow-dial` rule: a host (or any) and a port (or any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialRule {
    /// `None` for `*`.
    host: Option<String>,
    /// `None` for `*`, or when the rule names no port.
    port: Option<u16>,
}

impl DialRule {
    /// Parses `HOST:PORT`, `HOST:*`, `*:PORT`, `HOST`, `[IPV6]:PORT` or a bare IPv6 literal.
    pub fn parse(text: &str) -> Result<DialRule, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "`{text}` is not a dial rule: write HOST:PORT, HOST:*, *:PORT or HOST \
                 (e.g. 192.168.1.20:502, device.local:*, *:7777)"
            )
        };
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else if text.matches(':').count() > 1 {
            (text, None) // a bare IPv6 literal
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad());
        }
        let port = match port {
            None | Some("*") => None,
            Some(port) => Some(port.parse::<u16>().map_err(|_| bad())?),
        };
        Ok(DialRule {
            host: (host != "*").then(|| host.to_ascii_lowercase()),
            port,
        })
    }

    /// Whether this rule lets the page dial `host:port` (`host` without brackets).
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.host
            .as_deref()
            .is_none_or(|h| h.eq_ignore_ascii_case(host))
            && self.port.is_none_or(|p| p == port)
    }
}

/// Whether `rules` let the page dial `host:port`: no rules allow everything.
pub fn allowed(rules: &[DialRule], host: &str, port: u16) -> bool {
    rules.is_empty() || rules.iter().any(|rule| rule.allows(host, port))
}

impl fmt::Display for DialRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.host.as_deref().unwrap_or("*");
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        match self.port {
            Some(port) => write!(f, "{host}:{port}"),
            None => write!(f, "{host}:*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(texts: &[&str]) -> Vec<DialRule> {
        texts.iter().map(|t| DialRule::parse(t).unwrap()).collect()
    }

    #[test]
    fn forms() {
        let r = rules(&[
            "192.168.1.20:502",
            "Device.Local:*",
            "*:7777",
            "[::1]:9",
            "::2",
            "plc",
        ]);
        let shown: Vec<String> = r.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "192.168.1.20:502",
                "device.local:*",
                "*:7777",
                "[::1]:9",
                "[::2]:*",
                "plc:*"
            ]
        );
        for bad in [
            "",
            ":80",
            "host:port",
            "host:70000",
            "[::1",
            "[::1]x",
            "a b:1",
        ] {
            assert!(DialRule::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn matching() {
        let r = rules(&["192.168.1.20:502", "device.local:*", "*:7777", "[::1]:9"]);
        assert!(allowed(&r, "192.168.1.20", 502));
        assert!(!allowed(&r, "192.168.1.20", 503));
        assert!(allowed(&r, "DEVICE.local", 1));
        assert!(allowed(&r, "example.com", 7777));
        assert!(allowed(&r, "::1", 9));
        assert!(!allowed(&r, "localhost", 9));
        assert!(allowed(&[], "anything", 1));
    }
}
