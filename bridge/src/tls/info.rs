//! What the page shows about a TLS conversation ([`TlsInfo`], in the `protocol` crate), built
//! from rustls's and x509-parser's types.

pub use protocol::tls::{CertificateInfo, TlsInfo};
use rustls::pki_types::CertificateDer;
use rustls::{CommonState, ProtocolVersion};
use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The details of a finished handshake; `peer_verified` is the caller's to say.
pub(crate) fn describe(
    conn: &CommonState,
    server_name: Option<String>,
    peer_verified: bool,
) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    let cipher_suite = match conn.negotiated_cipher_suite() {
        Some(suite) => iana_suite_name(suite.suite()),
        None => "unknown".to_owned(),
    };
    let key_exchange = conn
        .negotiated_key_exchange_group()
        .map(|group| named(group.name().as_str(), group.name()));
    TlsInfo {
        version,
        cipher_suite,
        key_exchange,
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        server_name,
        peer_verified,
        peer_certificate: conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(certificate_info),
    }
}

/// Reads what a person wants to know from a certificate. A certificate x509-parser cannot read
/// (rustls has already accepted or rejected it by then) still gets its fingerprint.
pub fn certificate_info(der: &CertificateDer<'_>) -> CertificateInfo {
    let sha256 = fingerprint(der);
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        let unreadable = "(unreadable)".to_owned();
        return CertificateInfo {
            subject: unreadable.clone(),
            issuer: unreadable.clone(),
            self_signed: false,
            not_before: unreadable.clone(),
            not_after: unreadable.clone(),
            subject_alt_names: Vec::new(),
            serial: unreadable,
            sha256,
        };
    };
    let validity = cert.validity();
    CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        not_before: rfc3339_seconds(validity.not_before.timestamp()),
        not_after: rfc3339_seconds(validity.not_after.timestamp()),
        subject_alt_names: alt_names(&cert),
        serial: colon_hex(cert.raw_serial()),
        sha256,
    }
}

/// The SHA-256 fingerprint of a certificate, `AB:CD:...`.
pub fn fingerprint(der: &CertificateDer<'_>) -> String {
    colon_hex(&Sha256::digest(der.as_ref()))
}

/// `2025-01-01T00:00:00Z` for seconds since the Unix epoch.
pub(crate) fn rfc3339_seconds(unix_seconds: i64) -> String {
    let t = protocol::time::DateTime::at(unix_seconds.saturating_mul(1_000_000), 0);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        t.date(),
        t.hour,
        t.minute,
        t.second
    )
}

fn alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => (*dns).to_owned(),
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            GeneralName::RFC822Name(email) => format!("email:{email}"),
            GeneralName::URI(uri) => format!("URI:{uri}"),
            GeneralName::DirectoryName(dn) => format!("DirName:{dn}"),
            other => format!("{other:?}"),
        })
        .collect()
}

/// An IP address SAN's bytes as the address: 4 bytes are IPv4, 16 IPv6.
fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).expect("4 bytes")).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).expect("16 bytes")).to_string(),
        _ => format!("IP:{}", colon_hex(bytes)),
    }
}

/// rustls names TLS 1.3 suites `TLS13_...`; their IANA names, which OpenSSL and browsers show,
/// begin `TLS_`. TLS 1.2 names are already IANA's.
fn iana_suite_name(suite: rustls::CipherSuite) -> String {
    let name = named(suite.as_str(), suite);
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

fn named(name: Option<&'static str>, value: impl std::fmt::Debug) -> String {
    name.map_or_else(|| format!("{value:?}"), str::to_owned)
}

fn colon_hex(bytes: &[u8]) -> String {
    protocol::hex::encode_with(bytes, ":").to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_in_utc() {
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_735_689_600), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn fingerprints_are_colon_separated_upper_case_hex() {
        let der = CertificateDer::from(b"abc".to_vec());
        assert_eq!(
            fingerprint(&der),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:\
             B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn suite_names_are_iana_names() {
        assert_eq!(
            iana_suite_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            iana_suite_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        );
    }

    #[test]
    fn a_certificate_is_read_as_a_browser_shows_it() {
        let mut params =
            rcgen::CertificateParams::new(vec!["device.local".into(), "10.0.0.7".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "device.local");
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026, 1, 1);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x01, 0xab]));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();

        let info = certificate_info(cert.der());
        assert_eq!(info.subject, "CN=device.local");
        assert_eq!(info.issuer, "CN=device.local");
        assert!(info.self_signed);
        assert_eq!(info.not_before, "2025-01-01T00:00:00Z");
        assert_eq!(info.not_after, "2026-01-01T00:00:00Z");
        assert_eq!(info.subject_alt_names, ["device.local", "10.0.0.7"]);
        assert_eq!(info.serial, "01:AB");
        assert_eq!(info.sha256, fingerprint(cert.der()));
        assert_eq!(info.sha256.len(), 32 * 3 - 1);
    }

    #[test]
    fn an_unreadable_certificate_still_has_its_fingerprint() {
        let der = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]);
        let info = certificate_info(&der);
        assert_eq!(info.subject, "(unreadable)");
        assert_eq!(info.sha256, fingerprint(&der));
    }
}
