//! A TLS conversation's security, under its header: a line that says the protocol, the cipher
//! suite and whether the server's certificate was verified, which opens into the details a
//! browser's certificate viewer shows: key exchange, ALPN, the server name, and the peer's
//! certificate (subject, issuer, validity, names, serial, SHA-256 fingerprint). A certificate
//! that has expired or is not valid yet is highlighted. For a client the bridge accepted, what
//! that client saw is the bridge's own certificate: its fingerprint is the one to compare.

use protocol::time::DateTime;
use protocol::tls::{CertificateInfo, TlsInfo};
use protocol::{ConnState, Micros, Origin, Transport};
use yew::prelude::*;

use crate::components::copy_text::copy_text;
use crate::state::Conv;

/// Whether a certificate is valid at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    Valid,
    Expired,
    NotYetValid,
    /// Its dates could not be read.
    Unknown,
}

/// The validity of a certificate from `not_before` to `not_after` (RFC 3339 in UTC, to the
/// second, as the bridge writes them) at `now`.
pub fn validity(not_before: &str, not_after: &str, now: Micros) -> Validity {
    let t = DateTime::at(now, 0);
    let now = format!(
        "{}T{:02}:{:02}:{:02}Z",
        t.date(),
        t.hour,
        t.minute,
        t.second
    );
    // Written alike, the dates compare as text.
    let shaped = |s: &str| s.len() == now.len() && s.as_bytes()[10] == b'T' && s.ends_with('Z');
    if !shaped(not_before) || !shaped(not_after) {
        Validity::Unknown
    } else if now.as_str() < not_before {
        Validity::NotYetValid
    } else if now.as_str() > not_after {
        Validity::Expired
    } else {
        Validity::Valid
    }
}

/// The line under the header: `TLSv1.3 · TLS_AES_256_GCM_SHA384 · certificate verified`.
pub fn summary(tls: &TlsInfo, origin: Origin) -> String {
    let trust = match (origin, tls.peer_verified) {
        (Origin::Dialled, true) => "certificate verified",
        (Origin::Dialled, false) => "certificate NOT verified (accept any certificate)",
        (Origin::Accepted, _) => "the client saw this bridge's certificate",
    };
    format!("{} · {} · {trust}", tls.version, tls.cipher_suite)
}

/// A term, what it says, and how it stands out: `warning`, `invalid`, or `copy` for a
/// fingerprint to copy.
type Row = (&'static str, String, &'static str);

/// The details of `conv`, when it is a TLS conversation: nothing otherwise. `bridge_fingerprint`
/// is that of the certificate the bridge's TLS listener presents: what a client it accepted
/// saw. (A plain function, not a component: it holds no state, and a component of its own
/// would cost the page more code than it saves renders.)
pub fn tls_details(conv: &Conv, bridge_fingerprint: Option<&str>) -> Html {
    let info = &conv.info;
    // A proxy's sides each speak TLS or not: each says which side it is.
    let server = info
        .proxy
        .as_deref()
        .filter(|p| p.transport == Transport::Tls);
    let client = (info.transport == Transport::Tls).then(|| {
        let side = if info.proxy.is_some() {
            "Client side: "
        } else {
            ""
        };
        side_details(
            info.tls.as_deref(),
            info.origin,
            info.state,
            bridge_fingerprint,
            side,
        )
    });
    let server = server.map(|p| {
        side_details(
            p.tls.as_deref(),
            Origin::Dialled,
            info.state,
            None,
            "Server side: ",
        )
    });
    html! { <>{ client }{ server }</> }
}

/// One TLS side's details: its handshake (if done), as the bridge `origin`ated the side, with
/// `side` before its summary when the conversation has two.
fn side_details(
    tls: Option<&TlsInfo>,
    origin: Origin,
    state: ConnState,
    bridge_fingerprint: Option<&str>,
    side: &str,
) -> Html {
    let Some(tls) = tls else {
        // Why a handshake ended is the close reason's to say.
        return match state {
            ConnState::Connecting => html! {
                <p class="tls-summary">{ side }{ "TLS: the handshake is not done yet" }</p>
            },
            _ => html! {},
        };
    };
    let or = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.to_string());
    let dialled = origin == Origin::Dialled;
    let unverified = dialled && !tls.peer_verified;
    let trust = match (dialled, tls.peer_verified) {
        (true, true) => "verified: issued by an authority the bridge trusts, for the name dialled",
        (true, false) => {
            "NOT verified: dialled with \u{201c}accept any certificate\u{201d}; compare the \
             fingerprint below with the device's"
        }
        (false, _) => "the bridge asks clients for no certificate",
    };
    let rows: Vec<Row> = vec![
        ("Protocol", tls.version.clone(), ""),
        ("Cipher suite", tls.cipher_suite.clone(), ""),
        (
            "Key exchange",
            or(&tls.key_exchange, "none (a resumed session)"),
            "",
        ),
        ("ALPN", or(&tls.alpn, "none agreed"), ""),
        (
            "Server name",
            or(
                &tls.server_name,
                if dialled {
                    "none"
                } else {
                    "none asked for (no SNI)"
                },
            ),
            "",
        ),
        (
            "Certificate",
            trust.into(),
            if unverified { "warning" } else { "" },
        ),
    ];
    let (heading, more) = match (&tls.peer_certificate, bridge_fingerprint) {
        (Some(cert), _) => ("The server's certificate", certificate(cert)),
        (None, _) if dialled => ("", Vec::new()),
        (None, Some(fp)) => (
            "This bridge's certificate, which the client saw",
            vec![("SHA-256", fp.to_string(), "copy")],
        ),
        (None, None) => (
            "This bridge's certificate, which the client saw",
            vec![(
                "SHA-256",
                "not known: the TLS listener is not running".into(),
                "",
            )],
        ),
    };
    html! {
        <details class={classes!("tls-details", unverified.then_some("unverified"))}>
            <summary class="tls-summary">{ side }{ summary(tls, origin) }</summary>
            <div class="tls-body">
                <dl>{ listed(rows) }</dl>
                if !more.is_empty() {
                    <h3>{ heading }</h3>
                    <dl>{ listed(more) }</dl>
                }
            </div>
        </details>
    }
}

fn listed(rows: Vec<Row>) -> Html {
    rows.into_iter()
        .map(|(term, value, class)| {
            let value = match class {
                "copy" => copy_text(&value, "the SHA-256 fingerprint"),
                _ => html! { { value } },
            };
            html! { <><dt>{ term }</dt><dd {class}>{ value }</dd></> }
        })
        .collect()
}

/// The peer's certificate, as a certificate viewer shows it.
fn certificate(cert: &CertificateInfo) -> Vec<Row> {
    let now = (js_sys::Date::now() * 1000.0) as Micros;
    let note = match validity(&cert.not_before, &cert.not_after, now) {
        Validity::Expired => " (expired)",
        Validity::NotYetValid => " (not valid yet)",
        Validity::Valid | Validity::Unknown => "",
    };
    let (issuer, self_signed) = match cert.self_signed {
        true => (
            format!("{} (self-signed: no authority vouches for it)", cert.issuer),
            "warning",
        ),
        false => (cert.issuer.clone(), ""),
    };
    let names = match cert.subject_alt_names.is_empty() {
        true => "none".to_string(),
        false => cert.subject_alt_names.join(", "),
    };
    vec![
        ("Subject", cert.subject.clone(), ""),
        ("Issuer", issuer, self_signed),
        (
            "Valid",
            format!("from {} until {}{note}", cert.not_before, cert.not_after),
            if note.is_empty() { "" } else { "invalid" },
        ),
        ("Names", names, ""),
        ("Serial", cert.serial.clone(), ""),
        ("SHA-256", cert.sha256.clone(), "copy"),
    ]
}

/// What the TLS listener's panel shows below its controls: the SHA-256 fingerprint of the
/// certificate it presents, to compare with what a client shows, or to copy into one.
pub fn listener_fingerprint(fingerprint: Option<&str>) -> Html {
    match fingerprint {
        Some(fp) => html! {
            <div class="fingerprint">
                <span class="label" title="Compare it with what your client shows before you trust the connection">
                    { "Its certificate's SHA-256 fingerprint" }
                </span>
                { copy_text(fp, "the TLS listener's certificate fingerprint") }
            </div>
        },
        None => html! {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z
    const NEW_YEAR: Micros = 1_767_225_600_000_000;

    #[test]
    fn a_certificate_is_valid_between_its_dates() {
        let (from, until) = ("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
        assert_eq!(
            validity(from, until, NEW_YEAR),
            Validity::Valid,
            "to the second"
        );
        assert_eq!(
            validity(from, until, NEW_YEAR + 1_000_000),
            Validity::Expired
        );
        assert_eq!(
            validity("2026-01-01T00:00:01Z", "2027-01-01T00:00:00Z", NEW_YEAR),
            Validity::NotYetValid
        );
        assert_eq!(
            validity("unreadable", until, NEW_YEAR),
            Validity::Unknown,
            "no guess when the dates cannot be read"
        );
    }

    #[test]
    fn the_summary_says_whether_the_certificate_was_verified() {
        let mut tls = TlsInfo {
            version: "TLSv1.3".into(),
            cipher_suite: "TLS_AES_256_GCM_SHA384".into(),
            key_exchange: Some("X25519".into()),
            alpn: None,
            server_name: Some("localhost".into()),
            peer_verified: true,
            peer_certificate: None,
        };
        assert_eq!(
            summary(&tls, Origin::Dialled),
            "TLSv1.3 · TLS_AES_256_GCM_SHA384 · certificate verified"
        );
        tls.peer_verified = false;
        assert!(summary(&tls, Origin::Dialled).contains("NOT verified"));
        assert!(summary(&tls, Origin::Accepted).contains("this bridge's certificate"));
    }
}
