//! What the page shows about a TLS conversation: the negotiated parameters and the peer's
//! certificate, as plain strings (the bridge builds them from its TLS library's types).

use serde::{Deserialize, Serialize};

/// The details of one TLS conversation, once its handshake is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// The protocol version, as OpenSSL and browsers write it: `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The cipher suite's IANA name: `TLS_AES_256_GCM_SHA384`,
    /// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The key exchange group: `X25519`, `secp256r1`; absent when TLS 1.2 resumed a session.
    pub key_exchange: Option<String>,
    /// The application protocol agreed with ALPN (`h2`, `http/1.1`), if any was.
    pub alpn: Option<String>,
    /// When the bridge dialled: the name it checked the certificate against (the host as
    /// dialled). When the bridge accepted: the name the client asked for with SNI, if it did.
    pub server_name: Option<String>,
    /// Whether the peer's certificate was checked and found good: true only when the bridge
    /// dialled and verified the server's certificate. False when it dialled with "accept any
    /// certificate", and when it accepted (it asks clients for no certificate).
    pub peer_verified: bool,
    /// The certificate the peer presented (the first of its chain), if it presented one: always
    /// when the bridge dialled, never when it accepted.
    pub peer_certificate: Option<CertificateInfo>,
}

/// One X.509 certificate, in the terms a browser's certificate viewer uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// Whom the certificate is for, as a distinguished name: `CN=example.com, O=Example`.
    pub subject: String,
    /// Who signed it, as a distinguished name; the same as `subject` when it is self-signed.
    pub issuer: String,
    /// Whether it is self-signed (its issuer is its subject): no authority vouches for it.
    pub self_signed: bool,
    /// The start of its validity, RFC 3339 in UTC: `2025-01-01T00:00:00Z`.
    pub not_before: String,
    /// The end of its validity, RFC 3339 in UTC.
    pub not_after: String,
    /// The names it is valid for (its subject alternative names): DNS names (possibly with a
    /// leading `*.` wildcard) and IP addresses as they are written; any other kind prefixed
    /// with it (`email:`, `URI:`).
    pub subject_alt_names: Vec<String>,
    /// The serial number, colon-separated hex as browsers show it.
    pub serial: String,
    /// The SHA-256 fingerprint of the whole certificate (its DER bytes), colon-separated
    /// upper-case hex as browsers and `openssl x509 -fingerprint -sha256` show it:
    /// `AB:CD:...` (32 bytes).
    pub sha256: String,
}
