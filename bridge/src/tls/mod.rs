//! TLS over the bridge's TCP streams: dial a server with TLS, accept clients with TLS, and
//! describe each TLS conversation for the page.
//!
//! Streams in, streams and details out: [`Connector::connect`] and [`Acceptor::accept`] take a
//! stream that is already connected (the dialer's or the listener's) and return the TLS stream
//! with its [`TlsInfo`], or a [`HandshakeError`] whose reason says, in words, what failed and
//! what to do. Nothing here knows about the hub or the page.
//!
//! | file | its one job |
//! | --- | --- |
//! | `client.rs` | dialling: certificate verification (bundled roots, extra CAs, or accept any) |
//! | `server.rs` | accepting: the bridge's certificate, from PEM files or made at start |
//! | `hello.rs` | the version a client's greeting offers, for a client refused for it |
//! | `info.rs` | the details of a conversation and of a certificate, as the page shows them |
//! | `reason.rs` | rustls's errors as reasons a person can act on |
//!
//! The cryptography is rustls with *ring*: a small library that builds with a C compiler alone.
//! (aws-lc-rs, rustls's default, compiles a far larger C library, and needs CMake on targets
//! other than the common Linux and macOS ones.) Both ends speak TLS 1.2 and 1.3, with AES-GCM
//! or ChaCha20-Poly1305 and an ECDHE key exchange.

mod client;
mod hello;
mod info;
mod reason;
mod server;

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;

pub use client::{connect, ClientOptions, Connector};
pub use hello::Greeted;
pub use info::{certificate_info, fingerprint, CertificateInfo, TlsInfo};
pub use reason::HandshakeError;
pub use server::Acceptor;
/// A TLS stream the bridge dialled.
pub use tokio_rustls::client::TlsStream as ClientStream;
/// A TLS stream the bridge accepted.
pub use tokio_rustls::server::TlsStream as ServerStream;

/// How long a handshake may take by default, once the TCP connection is open.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The one crypto provider, named rather than taken from the process default, so that nothing
/// depends on which of rustls's providers some other crate happens to enable.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
