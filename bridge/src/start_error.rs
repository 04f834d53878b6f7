//! Why the bridge could not start, in words that say which flag to change.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use protocol::Transport;

use crate::bind;

/// Why the bridge could not start.
#[derive(Debug)]
pub enum StartError {
    Listen {
        transport: Transport,
        addr: SocketAddr,
        source: io::Error,
    },
    Tls(String),
    Http {
        addr: SocketAddr,
        source: io::Error,
    },
    WebDir {
        dir: PathBuf,
    },
    Transcript {
        path: PathBuf,
        source: io::Error,
    },
    Rules {
        path: PathBuf,
        why: String,
    },
    /// A `--proxy` that cannot work: its LISTEN cannot be had, or its TARGET may not be dialled
    /// or does not resolve.
    Proxy {
        spec: String,
        why: String,
    },
}

impl StartError {
    /// A listener's address (`--listen`, `--tls-listen`, `--udp`) could not be had.
    pub(crate) fn listen(transport: Transport, addr: SocketAddr, source: io::Error) -> StartError {
        StartError::Listen {
            transport,
            addr,
            source,
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Listen {
                transport,
                addr,
                source,
            } => {
                let flag = match transport {
                    Transport::Tcp => "--listen",
                    Transport::Tls => "--tls-listen",
                    Transport::Udp => "--udp",
                };
                write!(
                    f,
                    "cannot listen for {} on {addr}: {}; pick another with {flag}",
                    transport.label(),
                    bind::explain(source)
                )
            }
            StartError::Tls(why) => f.write_str(why),
            StartError::Http { addr, source } => write!(
                f,
                "cannot serve HTTP on {addr}: {}; pick another with --http",
                bind::explain(source)
            ),
            StartError::WebDir { dir } => {
                write!(f, "--web-dir {}: no such directory", dir.display())
            }
            StartError::Transcript { path, source } => {
                write!(f, "cannot open the transcript {}: {source}", path.display())
            }
            StartError::Rules { path, why } => {
                write!(f, "cannot use the rules in {}: {why}", path.display())
            }
            StartError::Proxy { spec, why } => write!(f, "--proxy {spec}: {why}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Listen { source, .. }
            | StartError::Http { source, .. }
            | StartError::Transcript { source, .. } => Some(source),
            StartError::WebDir { .. }
            | StartError::Rules { .. }
            | StartError::Proxy { .. }
            | StartError::Tls(_) => None,
        }
    }
}
