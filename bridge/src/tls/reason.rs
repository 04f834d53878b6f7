//! Why a TLS handshake failed, in words that say what to do next.
//!
//! rustls reports a failure as an enum made for programmers (`InvalidCertificate(UnknownIssuer)`,
//! `AlertReceived(ProtocolVersion)`); a person debugging a device needs to read "self-signed:
//! dial with accept any certificate". The texts name the dialled host when the bridge dialled,
//! and "the client" when it accepted: the page already shows that client's address.

use std::fmt;
use std::io;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::PeerIncompatible;
use rustls::{AlertDescription, CertificateError, Error, HandshakeType, InvalidMessage};

use super::info::{rfc3339_seconds, CertificateInfo};

/// A TLS handshake that did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeError {
    /// What went wrong and what to do about it, for the page and the logs.
    pub reason: String,
    /// The certificate the server presented, when the bridge dialled and the handshake got that
    /// far (for a rejected certificate, the one rejected), so that the page can show what was
    /// refused: its names, dates and fingerprint.
    pub certificate: Option<Box<CertificateInfo>>,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for HandshakeError {}

/// Which end of the handshake the bridge was.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Side<'a> {
    /// The bridge dialled `host` (as the page wrote it).
    Dialled { host: &'a str },
    /// The bridge accepted a client; `fingerprint` is the SHA-256 of the bridge's certificate.
    Accepted { fingerprint: &'a str },
}

/// The reason for a handshake that failed with `error` (as tokio-rustls returns it).
/// `seen` is the certificate the server presented, if any.
pub(crate) fn explain(side: Side<'_>, error: &io::Error, seen: Option<&CertificateInfo>) -> String {
    let tls = error.get_ref().and_then(|e| e.downcast_ref::<Error>());
    match (side, tls) {
        (Side::Dialled { host }, Some(e)) => dialled(host, e, seen),
        (Side::Accepted { fingerprint }, Some(e)) => accepted(fingerprint, e),
        (side, None) => io_failure(side, error),
    }
}

/// The reason for a handshake that had not finished after `after`.
pub(crate) fn timed_out(side: Side<'_>, after: Duration) -> String {
    let secs = after.as_secs_f64();
    match side {
        Side::Dialled { host } => format!(
            "{host} did not complete the TLS handshake within {secs} s: it may not speak TLS on \
             this port (a plain TCP service waits for its client to speak first); dial it \
             without TLS"
        ),
        Side::Accepted { .. } => format!(
            "the client did not complete a TLS handshake within {secs} s: it may not speak TLS \
             (a plain TCP client waits for the server to speak first)"
        ),
    }
}

/// The way past a certificate the bridge does not trust, for a server the user trusts anyway.
const ACCEPT_ANY: &str = "dial with \"accept any certificate\" to connect anyway";

/// Failures seen by the bridge as a client, of `host`.
fn dialled(host: &str, error: &Error, seen: Option<&CertificateInfo>) -> String {
    match error {
        Error::InvalidCertificate(cert) => certificate(host, cert, seen),
        Error::AlertReceived(AlertDescription::ProtocolVersion)
        | Error::PeerIncompatible(
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::SupportedVersionsExtensionRequired,
        ) => format!(
            "{host} does not speak TLS 1.2 or 1.3, the versions the bridge supports (protocol \
             version mismatch): it may only speak an older TLS, which is no longer safe"
        ),
        Error::AlertReceived(
            alert @ (AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity),
        ) => format!(
            "{host} refused the handshake ({} alert): most likely it supports none of the \
             bridge's cipher suites (TLS 1.2 or 1.3 with AES-GCM or ChaCha20-Poly1305 and an \
             ECDHE key exchange); a device that knows only CBC suites or RSA key exchange cannot \
             be reached with TLS from the bridge",
            alert_name(alert)
        ),
        Error::PeerIncompatible(
            PeerIncompatible::NoCipherSuitesInCommon
            | PeerIncompatible::NoKxGroupsInCommon
            | PeerIncompatible::NoSignatureSchemesInCommon,
        ) => format!(
            "{host} and the bridge have no cipher suite, key exchange or signature scheme in \
             common ({error})"
        ),
        Error::AlertReceived(AlertDescription::CertificateRequired) => {
            format!("{host} requires a client certificate, which the bridge does not send")
        }
        Error::AlertReceived(AlertDescription::UnrecognisedName) => format!(
            "{host} does not serve the name {host} (unrecognized_name alert): dial it by a name \
             it has a certificate for"
        ),
        Error::AlertReceived(AlertDescription::NoApplicationProtocol)
        | Error::NoApplicationProtocol => {
            format!("{host} speaks none of the application protocols (ALPN) the bridge offered")
        }
        Error::InappropriateHandshakeMessage {
            got_type: HandshakeType::ClientHello,
            ..
        } => format!(
            "{host} sent the bridge's own TLS greeting back: it echoes what it receives and does \
             not speak TLS on this port; dial it without TLS"
        ),
        e if not_tls(e) => format!(
            "{host} answered with something that is not TLS: it seems to speak plain TCP on this \
             port; dial it without TLS"
        ),
        Error::AlertReceived(alert) => format!(
            "{host} ended the TLS handshake with the alert {}",
            alert_name(alert)
        ),
        Error::DecryptError | Error::PeerMisbehaved(_) => format!(
            "{host} broke the TLS protocol during the handshake ({error}); it may be faulty, or \
             something between it and the bridge altered the traffic"
        ),
        Error::InvalidMessage(_) => {
            format!("{host} sent a malformed TLS message during the handshake ({error})")
        }
        _ => format!(
            "the TLS handshake with {host} failed: {error}; if its certificate is the problem, \
             {ACCEPT_ANY}"
        ),
    }
}

/// A rejected server certificate.
fn certificate(host: &str, error: &CertificateError, seen: Option<&CertificateInfo>) -> String {
    let subject = seen.map_or("", |c| c.subject.as_str());
    match error {
        CertificateError::ExpiredContext { time, not_after } => format!(
            "the certificate of {host} expired on {} (it is now {}): renew it on the server, or \
             {ACCEPT_ANY}",
            rfc3339_seconds(unix(not_after)),
            rfc3339_seconds(unix(time))
        ),
        CertificateError::Expired => match seen {
            Some(cert) => format!(
                "the certificate of {host} expired on {}: renew it on the server, or {ACCEPT_ANY}",
                cert.not_after
            ),
            None => format!(
                "the certificate of {host} has expired: renew it on the server, or {ACCEPT_ANY}"
            ),
        },
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "the certificate of {host} is not valid before {} (it is now {}): check the clocks of \
             this machine and of the server, or {ACCEPT_ANY}",
            rfc3339_seconds(unix(not_before)),
            rfc3339_seconds(unix(time))
        ),
        CertificateError::NotValidYet => format!(
            "the certificate of {host} is not valid yet: check the clocks of this machine and of \
             the server, or {ACCEPT_ANY}"
        ),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            // The certificate's own list reads better than webpki's (`DnsName("a.example")`).
            let presented = match seen {
                Some(cert) => cert.subject_alt_names.clone(),
                None => presented.iter().map(|name| plain_name(name)).collect(),
            };
            not_valid_for(host, &server_name_text(expected), Some(&presented))
        }
        CertificateError::NotValidForName => {
            not_valid_for(host, host, seen.map(|c| c.subject_alt_names.as_slice()))
        }
        CertificateError::UnknownIssuer => match seen {
            Some(cert) if cert.self_signed => format!(
                "the certificate of {host} has an unknown issuer: it is self-signed ({subject}), \
                 so no authority the bridge trusts vouches for it; if you trust this server, \
                 {ACCEPT_ANY}, or trust this certificate as a CA"
            ),
            Some(cert) => format!(
                "the certificate of {host} has an unknown issuer: it was issued by {}, which is \
                 not an authority the bridge trusts (or the server does not send the intermediate \
                 certificates that lead to one); trust that authority's certificate (PEM) as a \
                 CA, or {ACCEPT_ANY}",
                cert.issuer
            ),
            None => format!(
                "the certificate of {host} has an unknown issuer: no authority the bridge trusts \
                 vouches for it (is it self-signed?); trust its issuer's certificate (PEM) as a \
                 CA, or {ACCEPT_ANY}"
            ),
        },
        CertificateError::BadSignature => format!(
            "the certificate of {host} has a signature that does not verify: it may be forged or \
             damaged"
        ),
        CertificateError::Revoked => {
            format!("the certificate of {host} has been revoked by its issuer")
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            format!(
                "the certificate of {host} is not meant for a TLS server (its extended key usage \
                 does not include server authentication); {ACCEPT_ANY}"
            )
        }
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => format!(
            "the certificate of {host} is signed with an algorithm the bridge does not support; \
             {ACCEPT_ANY}"
        ),
        CertificateError::BadEncoding => {
            format!("the certificate of {host} is malformed (it is not valid DER); {ACCEPT_ANY}")
        }
        CertificateError::UnhandledCriticalExtension => format!(
            "the certificate of {host} has a critical extension the bridge does not understand; \
             {ACCEPT_ANY}"
        ),
        CertificateError::Other(other)
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            ) =>
        {
            format!(
                "the certificate of {host} is a CA's certificate, which no client accepts as a \
                 server's own (`openssl req -x509` makes one unless told `-addext \
                 basicConstraints=critical,CA:FALSE`); make the server a certificate that is not \
                 a CA's, or {ACCEPT_ANY}"
            )
        }
        other => format!(
            "the certificate of {host} was rejected: {}; {ACCEPT_ANY}",
            Error::InvalidCertificate(other.clone())
        ),
    }
}

/// `presented`: the names the certificate is valid for, when known.
fn not_valid_for(host: &str, expected: &str, presented: Option<&[String]>) -> String {
    let start = format!("the certificate of {host} is not valid for the name {expected}");
    match presented {
        Some([]) => format!(
            "{start}: it names no host at all (it has no subject alternative names); \
             {ACCEPT_ANY}"
        ),
        Some(names) => format!(
            "{start}: it is valid for {}; dial one of those names, or {ACCEPT_ANY}",
            names.join(", ")
        ),
        None => format!("{start}; dial a name it is valid for, or {ACCEPT_ANY}"),
    }
}

/// Failures seen by the bridge as a server.
fn accepted(fingerprint: &str, error: &Error) -> String {
    match error {
        Error::AlertReceived(
            alert @ (AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::AccessDenied),
        ) => format!(
            "the client rejected the bridge's certificate ({} alert): have the client trust it \
             (SHA-256 {fingerprint}), or start the bridge with a certificate the client trusts \
             (--tls-cert and --tls-key)",
            alert_name(alert)
        ),
        e if too_old(e) => "the client offered only TLS versions older than 1.2 (TLS 1.0 or \
                            1.1, or SSL); the bridge speaks TLS 1.2 and 1.3: update the client, \
                            or enable TLS 1.2 in it"
            .to_owned(),
        Error::PeerIncompatible(
            PeerIncompatible::NoCipherSuitesInCommon
            | PeerIncompatible::NoKxGroupsInCommon
            | PeerIncompatible::NoSignatureSchemesInCommon,
        ) => format!(
            "the client and the bridge have no cipher suite, key exchange or signature scheme in \
             common ({error}); the bridge speaks TLS 1.2 and 1.3 with AES-GCM or \
             ChaCha20-Poly1305 and an ECDHE key exchange"
        ),
        e if not_tls(e) => "the client did not begin with a TLS handshake: it speaks plain TCP \
                            (or HTTP) to this TLS listener; connect it with TLS, or to a \
                            listener without TLS"
            .to_owned(),
        Error::AlertReceived(alert) => format!(
            "the client ended the TLS handshake with the alert {}",
            alert_name(alert)
        ),
        _ => format!("the TLS handshake with the client failed: {error}"),
    }
}

/// The reason for a client refused for its version, when its greeting says which it offered
/// at most (`version`, older than TLS 1.2); `None` when the handshake failed for another reason.
pub(crate) fn older_client(error: &io::Error, version: &str) -> Option<String> {
    let tls = error.get_ref().and_then(|e| e.downcast_ref::<Error>())?;
    too_old(tls).then(|| {
        format!(
            "this client offered {version}; the bridge speaks TLS 1.2 and 1.3: update the \
             client, or enable TLS 1.2 in it"
        )
    })
}

/// What a client that offers only versions older than TLS 1.2 makes rustls say. A TLS 1.0 or
/// 1.1 client sends no signature algorithms, which TLS 1.2 requires: rustls says that, rather
/// than the version.
fn too_old(error: &Error) -> bool {
    matches!(
        error,
        Error::PeerIncompatible(
            PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled
                | PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::SignatureAlgorithmsExtensionRequired,
        )
    )
}

/// What a peer that does not speak TLS makes rustls say: its first bytes are not a TLS record.
fn not_tls(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidMessage(
            InvalidMessage::InvalidContentType
                | InvalidMessage::UnknownProtocolVersion
                | InvalidMessage::MessageTooLarge
        ) | Error::InappropriateMessage { .. }
    )
}

/// The connection itself failed during the handshake (closed, reset).
fn io_failure(side: Side<'_>, error: &io::Error) -> String {
    let who = match side {
        Side::Dialled { host } => host.to_owned(),
        Side::Accepted { .. } => "the client".to_owned(),
    };
    let what = match error.kind() {
        io::ErrorKind::UnexpectedEof => "closed the connection",
        io::ErrorKind::ConnectionReset => "reset the connection",
        io::ErrorKind::ConnectionAborted => "aborted the connection",
        io::ErrorKind::BrokenPipe => "stopped reading",
        _ => return format!("the TLS handshake with {who} failed: {error}"),
    };
    match side {
        Side::Dialled { .. } => format!(
            "{who} {what} during the TLS handshake: it may not speak TLS on this port, or it \
             refused the bridge's greeting without saying why"
        ),
        Side::Accepted { fingerprint } => format!(
            "{who} {what} during the TLS handshake: it may not speak TLS, or it rejected the \
             bridge's certificate (SHA-256 {fingerprint}) without saying so"
        ),
    }
}

/// An alert as the TLS specification names it: `handshake_failure`, `unknown_ca`.
fn alert_name(alert: &AlertDescription) -> String {
    let Some(camel) = alert.as_str() else {
        return format!("{alert:?}");
    };
    let mut out = String::with_capacity(camel.len() + 4);
    let mut previous: Option<char> = None;
    for c in camel.chars() {
        // A capital after a small letter starts a word: `UnknownCA` is `unknown_ca`.
        if c.is_ascii_uppercase() && previous.is_some_and(|p| p.is_ascii_lowercase()) {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    out
}

/// webpki writes the names a certificate presents as `DnsName("a.example")` and
/// `IpAddress(10.0.0.7)`; a person reads `a.example` and `10.0.0.7`.
fn plain_name(name: &str) -> String {
    let inner = name
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            name.strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        });
    inner.unwrap_or(name).to_owned()
}

fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_owned(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

fn unix(time: &rustls::pki_types::UnixTime) -> i64 {
    i64::try_from(time.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::UnixTime;
    use std::sync::Arc;

    const HOST: Side<'static> = Side::Dialled {
        host: "device.local",
    };
    const SERVER: Side<'static> = Side::Accepted {
        fingerprint: "AB:CD",
    };

    fn tls(e: impl Into<Error>) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e.into())
    }

    fn cert_error(e: CertificateError) -> io::Error {
        tls(Error::InvalidCertificate(e))
    }

    #[test]
    fn alerts_are_named_as_the_specification_names_them() {
        assert_eq!(
            alert_name(&AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(alert_name(&AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(
            alert_name(&AlertDescription::ProtocolVersion),
            "protocol_version"
        );
    }

    #[test]
    fn a_ca_certificate_used_as_a_server_s_own_says_how_to_make_one_that_is_not() {
        let webpki_error = Arc::new(webpki::Error::CaUsedAsEndEntity);
        let e = cert_error(CertificateError::Other(rustls::OtherError(webpki_error)));
        let reason = explain(HOST, &e, None);
        assert!(
            reason.starts_with("the certificate of device.local is a CA's certificate"),
            "{reason}"
        );
        assert!(
            reason.contains("CA:FALSE") && reason.ends_with("to connect anyway"),
            "{reason}"
        );
    }

    #[test]
    fn an_expired_certificate_says_when() {
        let e = cert_error(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(Duration::from_secs(1_767_225_600)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_735_689_600)),
        });
        assert_eq!(
            explain(HOST, &e, None),
            "the certificate of device.local expired on 2025-01-01T00:00:00Z (it is now \
             2026-01-01T00:00:00Z): renew it on the server, or dial with \"accept any \
             certificate\" to connect anyway"
        );
    }

    #[test]
    fn a_wrong_name_lists_the_right_ones() {
        let e = cert_error(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("device.local").unwrap(),
            presented: vec![
                r#"DnsName("a.example")"#.into(),
                "IpAddress(10.0.0.7)".into(),
            ],
        });
        let reason = explain(HOST, &e, None);
        assert!(
            reason.starts_with(
                "the certificate of device.local is not valid for the name device.local: it is \
                 valid for a.example, 10.0.0.7; dial one of those names"
            ),
            "{reason}"
        );
    }

    #[test]
    fn an_unknown_issuer_without_the_certificate_still_suggests_what_to_do() {
        let reason = explain(HOST, &cert_error(CertificateError::UnknownIssuer), None);
        assert!(reason.contains("has an unknown issuer"), "{reason}");
        assert!(reason.contains("accept any certificate"), "{reason}");
    }

    #[test]
    fn versions_and_suites_that_do_not_meet_are_told_apart() {
        let version = explain(
            HOST,
            &tls(PeerIncompatible::ServerDoesNotSupportTls12Or13),
            None,
        );
        assert!(version.contains("protocol version mismatch"), "{version}");
        let suites = explain(
            HOST,
            &tls(Error::AlertReceived(AlertDescription::HandshakeFailure)),
            None,
        );
        assert!(
            suites.starts_with("device.local refused the handshake (handshake_failure alert)"),
            "{suites}"
        );
        for incompatible in [
            PeerIncompatible::Tls12NotOffered,
            // What a TLS 1.0 or 1.1 client makes rustls say.
            PeerIncompatible::SignatureAlgorithmsExtensionRequired,
        ] {
            let old_client = explain(SERVER, &tls(incompatible), None);
            assert!(
                old_client.starts_with(
                    "the client offered only TLS versions older than 1.2 (TLS 1.0 or 1.1, or \
                     SSL); the bridge speaks TLS 1.2 and 1.3"
                ),
                "{old_client}"
            );
        }
    }

    #[test]
    fn a_client_that_distrusts_the_bridge_is_told_the_fingerprint() {
        let reason = explain(
            SERVER,
            &tls(Error::AlertReceived(AlertDescription::UnknownCA)),
            None,
        );
        assert!(
            reason.starts_with(
                "the client rejected the bridge's certificate (unknown_ca alert): have the client \
                 trust it (SHA-256 AB:CD)"
            ),
            "{reason}"
        );
    }

    #[test]
    fn a_closed_connection_is_a_closed_connection() {
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        assert!(explain(HOST, &eof, None)
            .starts_with("device.local closed the connection during the TLS handshake"));
        assert!(explain(SERVER, &eof, None)
            .starts_with("the client closed the connection during the TLS handshake"));
    }
}
