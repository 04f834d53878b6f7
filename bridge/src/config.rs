//! Command-line configuration. Every address and limit is a flag, with a default that works out
//! of the box: the seed's TCP port on every interface, the web app on loopback only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::Uri;
use clap::Parser;
use protocol::checksum::Checksum;
use protocol::framing::{Delimiter, Framing};
use protocol::text_encoding::TextEncoding;

pub use crate::dial_rules::DialRule;
pub use crate::proxy::ProxySpec;

/// The tutorial's port, on every interface (IPv6 and IPv4), as its server listens.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    protocol::address::DEFAULT_PORT,
);

/// Relays TCP, TLS and UDP conversations to a web page: listens for peers, dials servers when
/// the page asks, and shows every byte both ways in the browser.
#[derive(Clone, Debug, Parser)]
#[command(name = "bridge", version, args_conflicts_with_subcommands = true)]
pub struct Config {
    /// A tool for recordings instead of the bridge; without one, the bridge starts.
    #[command(subcommand)]
    pub command: Option<crate::subcommands::Command>,

    /// Address of the TCP listener that peers connect to (port 0 picks a free port)
    /// [default: [::]:7777, every interface, IPv6 and IPv4 (0.0.0.0:7777 on a machine without
    /// IPv6); if another program has that port, the bridge starts without a listener and says
    /// so; an address given here must be free]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Do not listen for TCP at all; the page can still dial out.
    #[arg(long, conflicts_with = "listen")]
    pub no_listen: bool,

    /// Open a UDP socket on this address at start (e.g. [::]:7777): each address that sends to
    /// it becomes a conversation. Off by default; the page can open one.
    #[arg(long, value_name = "ADDR")]
    pub udp: Option<SocketAddr>,

    /// Seconds a conversation that the UDP socket accepted lasts with no datagram either way;
    /// then it ends, and frees its place under --udp-peers (UDP has no close of its own).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub udp_idle: u64,

    /// Conversations the UDP socket may hold with the addresses that sent to it, apart from
    /// --max-conns: past it, the longest silent one ends to make room for a new one, so that a
    /// flood of datagrams never takes a TCP peer's or a dial's place.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub udp_peers: u64,

    /// Listen for TLS clients on this address at start (e.g. [::]:7443). Off by default; the
    /// page can start it. Its certificate is --tls-cert, or a self-signed one made at start.
    #[arg(long, value_name = "ADDR")]
    pub tls_listen: Option<SocketAddr>,

    /// The TLS listener's certificate chain (PEM, leaf first). Without it, the bridge makes a
    /// self-signed certificate, new at every start, and prints its SHA-256 fingerprint.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Certificate authorities (PEM) to trust when dialling with TLS, besides the bundled
    /// Mozilla roots: a private CA, or a device's self-signed certificate.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// Address that serves the web app and its WebSocket. Keep it on loopback unless you trust
    /// everyone who can reach it: whoever opens the page can make the bridge dial out.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,

    /// A message that ends its conversation, as in the classic TCP chat examples: a read or a
    /// send equal to it, less one trailing line ending, closes the connection.
    #[arg(long, value_name = "WORD", default_value = "exit")]
    pub exit_word: String,

    /// Turn the exit-word convention off: no message closes a connection.
    #[arg(long)]
    pub no_exit_word: bool,

    /// How new connections' text is read and written until someone chooses otherwise in the
    /// page: utf-8, gbk, gb18030 or latin-1.
    #[arg(long, value_name = "ENCODING", default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,

    /// Seconds to wait for a dial (name lookup and connect) before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub dial_timeout: u64,

    /// Most TCP connections open at once, accepted and dialled together; more are refused.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_conns: usize,

    /// Most pages (browser tabs, WebSocket clients) connected at once; one more is refused,
    /// saying so, until another leaves.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_pages: usize,

    /// Memory for the history of each connection, in bytes (K, M, G suffixes allowed): each
    /// message counts its size plus 160 bytes of bookkeeping. The oldest messages beyond
    /// it are dropped from the history that new pages receive (the transcript keeps them).
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_size)]
    pub history_bytes: usize,

    /// Memory for the history of all connections together, counted the same way.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_size)]
    pub history_total: usize,

    /// Bytes a connection may hold waiting to be written to a peer that is not reading them
    /// (K, M, G suffixes allowed). Past it, a send to that peer is refused with the reason, and
    /// nothing else waits for it.
    #[arg(long, value_name = "BYTES", default_value = "4M", value_parser = parse_size)]
    pub send_queue: usize,

    /// Seconds a page's WebSocket may take nothing at all (a frozen tab, a paused debugger)
    /// before the bridge lets it go and frees what it held for it; the page re-syncs when it
    /// comes back.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub page_timeout: u64,

    /// Another origin whose pages may use the WebSocket (e.g. https://bridge.example.com); may
    /// be repeated. The bridge's own origin is always allowed; any other is refused.
    #[arg(long, value_name = "ORIGIN", value_parser = parse_origin)]
    pub allow_origin: Vec<String>,

    /// Serve the web app from this directory instead of the copy built into the binary.
    #[arg(long, value_name = "DIR")]
    pub web_dir: Option<PathBuf>,

    /// Append every connection's traffic and state changes to this file, as JSON Lines (one
    /// object per line: time, run, connection, direction, and the bytes as `text` or `hex`).
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,

    /// Auto-reply rules (and a framing) to start with, from a TOML file: the bridge answers peers
    /// by itself, as the device it stands in for would. With --proxy, rules with a `way` act on
    /// what the proxy relays that way: rewrite it, drop it, or answer it instead of forwarding
    /// it, with no page open. See `examples/` for rule files.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// Where the messages of new connections end: `raw` (one per read), `lf`, `crlf`, `cr`,
    /// `nul`, `delimiter:HEX` (e.g. delimiter:03), `fixed:N`, `length:W` (a W-byte big-endian
    /// length first; `length:2le` little-endian; `length:W@OFFSET+TRAILER` after OFFSET bytes,
    /// then TRAILER bytes the length leaves out: Modbus RTU's replies are `length:1@2+2`,
    /// Modbus TCP is `length:2@4`), or `idle:MS` (after MS ms of silence).
    #[arg(long, value_name = "FRAMING", value_parser = parse_framing)]
    pub framing: Option<Framing>,

    /// A checksum every message received must end with (new connections): crc16_modbus,
    /// crc16_ccitt_false, crc32, xor8, sum8 or lrc. Messages that do not are marked.
    #[arg(long, value_name = "CHECKSUM", value_parser = parse_checksum)]
    pub checksum: Option<Checksum>,

    /// Access token the page must present (`?token=` in the URL printed at start). Required
    /// when --http is not a loopback address; one is generated then if not given.
    #[arg(long, value_name = "TOKEN", value_parser = parse_token)]
    pub token: Option<String>,

    /// What the page may dial: `HOST:PORT`, `HOST:*`, `*:PORT` or `HOST` (any port), matched
    /// against the host as the page writes it; may be repeated. Without it, any address.
    #[arg(long, value_name = "RULE", value_parser = DialRule::parse)]
    pub allow_dial: Vec<DialRule>,

    /// Stand between a client and its server: listen on LISTEN, and relay each client that
    /// connects to TARGET, both ways, shown as one conversation (e.g.
    /// 127.0.0.1:1502=192.168.1.20:502); may be repeated. --allow-dial applies to TARGET.
    /// `tls:` before LISTEN takes TLS clients, with the TLS listener's certificate
    /// (--tls-cert/--tls-key, or self-signed); `tls:` before TARGET dials it with TLS, checking
    /// its certificate (--tls-ca), `tls-any:` accepting any (tls:[::]:8443=127.0.0.1:80,
    /// 127.0.0.1:1443=tls:device.local:443). `udp:` before LISTEN relays UDP: each client
    /// address gets a socket of its own to TARGET, ended by --udp-idle, at most --udp-peers
    /// (udp:[::]:5353=10.0.0.1:53).
    #[arg(long, value_name = "LISTEN=TARGET", value_parser = ProxySpec::parse)]
    pub proxy: Vec<ProxySpec>,
}

impl Config {
    /// The exit word in force, if any.
    pub fn exit_word(&self) -> Option<&str> {
        (!self.no_exit_word && !self.exit_word.is_empty()).then_some(self.exit_word.as_str())
    }

    /// The TCP listener's address, unless listening is off.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        (!self.no_listen).then(|| self.listen.unwrap_or(DEFAULT_LISTEN))
    }

    pub fn dial_timeout(&self) -> Duration {
        Duration::from_secs(self.dial_timeout)
    }

    pub fn udp_idle(&self) -> Duration {
        Duration::from_secs(self.udp_idle)
    }

    pub fn page_timeout(&self) -> Duration {
        Duration::from_secs(self.page_timeout)
    }
}

/// Parses the short forms of `--framing` (see its help).
fn parse_framing(text: &str) -> Result<Framing, String> {
    let text = text.trim().to_ascii_lowercase();
    let (kind, arg) = text.split_once(':').unwrap_or((&text, ""));
    let number = |what: &str| -> Result<u32, String> {
        arg.parse()
            .map_err(|_| format!("`{text}`: write {kind}:{what}, a whole number"))
    };
    let framing = match kind {
        "raw" => Framing::Raw,
        "lf" | "crlf" | "cr" | "nul" => Framing::Delimiter {
            delimiter: Delimiter::parse(kind)?,
        },
        "delimiter" => Framing::Delimiter {
            delimiter: Delimiter::parse(arg)?,
        },
        "fixed" => Framing::Fixed {
            len: number("BYTES")?,
        },
        "idle" => Framing::Idle {
            gap_ms: number("MS")?,
        },
        "length" => parse_length(&text, arg)?,
        _ => {
            return Err(format!(
                "`{text}` is not a framing: use raw, lf, crlf, cr, nul, delimiter:HEX, fixed:N, \
                 length:W or idle:MS"
            ))
        }
    };
    framing.validate()?;
    Ok(framing)
}

/// Parses `--framing length:W[le][@OFFSET][+TRAILER]`'s part after `length:`.
fn parse_length(text: &str, arg: &str) -> Result<Framing, String> {
    let how = || {
        format!(
            "`{text}`: write length:W with W 1, 2 or 4 (length:2le little-endian), then \
             @OFFSET and +TRAILER in bytes if needed, e.g. length:1@2+2"
        )
    };
    let (rest, trailer) = match arg.split_once('+') {
        Some((rest, trailer)) => (rest, trailer.parse().map_err(|_| how())?),
        None => (arg, 0),
    };
    let (field, offset) = match rest.split_once('@') {
        Some((field, offset)) => (field, offset.parse().map_err(|_| how())?),
        None => (rest, 0),
    };
    let (width, little) = match field.strip_suffix("le") {
        Some(width) => (width, true),
        None => (field, false),
    };
    Ok(Framing::LengthPrefixed {
        width: width.parse().map_err(|_| how())?,
        big_endian: !little,
        offset,
        includes_header: false,
        trailer,
    })
}

/// Parses a checksum's name, as the rules files and the protocol write it.
fn parse_checksum(text: &str) -> Result<Checksum, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_ascii_lowercase())).map_err(
        |_| {
            format!(
                "`{text}` is not a checksum: use crc16_modbus, crc16_ccitt_false, crc32, xor8, \
                 sum8 or lrc"
            )
        },
    )
}

/// Parses `utf-8`, `gbk`, `gb18030` or `latin-1`, in any case.
fn parse_encoding(text: &str) -> Result<TextEncoding, String> {
    let plain = |name: &str| name.trim().replace('-', "").to_ascii_lowercase();
    let wanted = plain(text);
    TextEncoding::ALL
        .into_iter()
        .find(|e| plain(e.label()) == wanted)
        .ok_or_else(|| {
            format!(
                "`{text}` is not an encoding the bridge knows: use utf-8, gbk, gb18030 or latin-1"
            )
        })
}

/// Parses `1048576`, `512K`, `1M`, `1MiB`, `2G` (binary multiples).
fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let shift = match &lower[digits.len()..] {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        unit => return Err(format!("unknown unit `{unit}` (use K, M or G)")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size in bytes (e.g. 65536, 64K, 1M)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A token is typed into URLs and shells: keep it to characters that need no quoting.
fn parse_token(text: &str) -> Result<String, String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_.~".contains(c);
    if text.len() < 8 || !text.chars().all(ok) {
        return Err("a token is at least 8 characters: letters, digits, `-`, `_`, `.`, `~`".into());
    }
    Ok(text.to_owned())
}

/// Accepts `scheme://host[:port]` and returns it in the form browsers send (lower case, no
/// trailing slash), so that comparing it with an `Origin` header is a plain string comparison.
fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let uri: Uri = origin
        .parse()
        .map_err(|e| format!("`{text}` is not an origin: {e}"))?;
    let plain = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
    if uri.scheme().is_none() || uri.host().is_none() || !plain {
        return Err(format!(
            "`{text}` is not an origin: write it as scheme://host[:port], e.g. https://example.com"
        ));
    }
    Ok(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("1T").unwrap_err().contains("unknown unit"));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn origins() {
        assert_eq!(
            parse_origin("HTTPS://Example.com:8443/"),
            Ok("https://example.com:8443".into())
        );
        assert!(parse_origin("example.com").is_err());
        assert!(parse_origin("http://example.com/path").is_err());
    }

    #[test]
    fn defaults_and_switches() {
        let config = Config::parse_from(["bridge"]);
        assert_eq!(config.listen_addr(), Some("[::]:7777".parse().unwrap()));
        assert_eq!(config.http, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.exit_word(), Some("exit"));
        assert_eq!(config.history_bytes, 1 << 20);
        assert_eq!(config.history_total, 64 << 20);
        assert_eq!(config.send_queue, 4 << 20);
        assert_eq!(config.page_timeout(), Duration::from_secs(60));
        assert_eq!(config.udp_idle(), Duration::from_secs(300));
        assert_eq!(config.udp_peers, 1000);
        assert_eq!(config.encoding, TextEncoding::Utf8);
        assert_eq!(config.listen, None, "the default is not asked for by name");
        let config = Config::parse_from(["bridge", "--no-exit-word", "--no-listen"]);
        assert_eq!(config.exit_word(), None);
        assert_eq!(config.listen_addr(), None);
        assert_eq!(config.token, None);
        assert!(config.allow_dial.is_empty());
        assert!(config.proxy.is_empty());
        let config = Config::parse_from([
            "bridge",
            "--proxy",
            "127.0.0.1:1502=192.168.1.20:502",
            "--proxy",
            "[::]:8443=device.local:443",
        ]);
        let proxies: Vec<String> = config.proxy.iter().map(ToString::to_string).collect();
        assert_eq!(
            proxies,
            [
                "127.0.0.1:1502=192.168.1.20:502",
                "[::]:8443=device.local:443"
            ]
        );
        let bad = Config::try_parse_from(["bridge", "--proxy", "1502=x:1"]).unwrap_err();
        assert!(
            bad.to_string()
                .contains("`1502` is not an address to listen on"),
            "{bad}"
        );
    }

    #[test]
    fn framings_and_checksums() {
        let delimiter = |bytes: &[u8]| Framing::Delimiter {
            delimiter: Delimiter(bytes.to_vec()),
        };
        assert_eq!(parse_framing("raw"), Ok(Framing::Raw));
        assert_eq!(parse_framing("LF"), Ok(delimiter(b"\n")));
        assert_eq!(parse_framing("crlf"), Ok(delimiter(b"\r\n")));
        assert_eq!(parse_framing("delimiter:03"), Ok(delimiter(b"\x03")));
        assert_eq!(parse_framing("fixed:8"), Ok(Framing::Fixed { len: 8 }));
        assert_eq!(parse_framing("idle:20"), Ok(Framing::Idle { gap_ms: 20 }));
        assert_eq!(
            parse_framing("length:2le"),
            Ok(Framing::LengthPrefixed {
                width: 2,
                big_endian: false,
                offset: 0,
                includes_header: false,
                trailer: 0,
            })
        );
        assert!(parse_framing("fixed:0").is_err());
        assert_eq!(
            parse_framing("length:1@2+2"),
            Ok(Framing::LengthPrefixed {
                width: 1,
                big_endian: true,
                offset: 2,
                includes_header: false,
                trailer: 2,
            })
        );
        assert_eq!(
            parse_framing("length:4le+1"),
            Ok(Framing::LengthPrefixed {
                width: 4,
                big_endian: false,
                offset: 0,
                includes_header: false,
                trailer: 1,
            })
        );
        assert!(parse_framing("length:3").is_err());
        assert!(parse_framing("length:1@2+")
            .unwrap_err()
            .contains("e.g. length:1@2+2"));
        assert!(parse_framing("length:1+300")
            .unwrap_err()
            .contains("a trailer of 300 bytes is too long"));
        assert!(parse_framing("lines").unwrap_err().contains("use raw, lf"));
        assert_eq!(parse_checksum("CRC16_MODBUS"), Ok(Checksum::Crc16Modbus));
        assert!(parse_checksum("md5").unwrap_err().contains("crc16_modbus"));
    }

    #[test]
    fn encodings() {
        for (text, encoding) in [
            ("utf-8", TextEncoding::Utf8),
            ("UTF8", TextEncoding::Utf8),
            ("GBK", TextEncoding::Gbk),
            ("gb18030", TextEncoding::Gb18030),
            ("latin-1", TextEncoding::Latin1),
            ("Latin1", TextEncoding::Latin1),
        ] {
            assert_eq!(parse_encoding(text), Ok(encoding), "{text}");
        }
        assert!(parse_encoding("big5").unwrap_err().contains("utf-8, gbk"));
    }

    #[test]
    fn tokens() {
        assert_eq!(parse_token("s3cret-token"), Ok("s3cret-token".into()));
        assert!(parse_token("short").is_err());
        assert!(parse_token("has space in it").is_err());
        assert!(parse_token("a&b=c;d/e").is_err());
    }
}
