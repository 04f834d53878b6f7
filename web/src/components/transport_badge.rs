//! How a conversation travels, at a glance: a badge that says TLS or UDP (plain TCP, the usual,
//! has none), in the connection list and the conversation's header alike. A TLS conversation
//! whose server certificate the bridge did not verify (dialled with "accept any certificate")
//! is marked so: nothing vouches for who is at the other end.

use protocol::{ConnInfo, Origin, Transport};
use yew::prelude::*;

/// Whether the bridge dialled this TLS server without verifying its certificate. (A client
/// the bridge accepted presents none: that is TLS as usual, not a warning.)
pub fn unverified(info: &ConnInfo) -> bool {
    info.origin == Origin::Dialled && info.tls.as_ref().is_some_and(|tls| !tls.peer_verified)
}

/// The badge for `info`: none for plain TCP. A plain function: it holds no state.
pub fn transport_badge(info: &ConnInfo) -> Html {
    let unverified = unverified(info);
    // No handshake (yet, or ever): TLS was asked for, nothing is encrypted so far.
    let pending = info.transport == Transport::Tls && info.tls.is_none();
    let title = match (info.transport, unverified) {
        (Transport::Tcp, _) => return html! {},
        (Transport::Tls, _) if pending => "TLS, no handshake done: nothing encrypted yet",
        (Transport::Tls, false) => "TLS: encrypted",
        (Transport::Tls, true) => {
            "TLS, certificate not verified (dialled with \u{201c}accept any certificate\u{201d}): \
             nothing vouches for who is at the other end; compare its fingerprint"
        }
        (Transport::Udp, _) => "UDP: each message is one datagram",
    };
    html! {
        <span class={classes!("transport", info.transport.as_str(), unverified.then_some("unverified"), pending.then_some("pending"))} {title}>
            { info.transport.label() }
            if unverified {
                <span class="unverified-mark" aria-hidden="true">{ "!" }</span>
                <span class="sr-only">{ " not verified" }</span>
            }
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::tls::TlsInfo;
    use protocol::ConnState;

    fn tls(origin: Origin, verified: Option<bool>) -> ConnInfo {
        let mut info = ConnInfo::new(1, origin, "127.0.0.1:443".into(), ConnState::Open, 0);
        info.transport = Transport::Tls;
        info.tls = verified.map(|peer_verified| {
            Box::new(TlsInfo {
                version: "TLSv1.3".into(),
                cipher_suite: "TLS_AES_128_GCM_SHA256".into(),
                key_exchange: Some("X25519".into()),
                alpn: None,
                server_name: None,
                peer_verified,
                peer_certificate: None,
            })
        });
        info
    }

    #[test]
    fn only_a_dialled_server_that_was_not_verified_is_marked() {
        assert!(unverified(&tls(Origin::Dialled, Some(false))));
        assert!(!unverified(&tls(Origin::Dialled, Some(true))));
        assert!(
            !unverified(&tls(Origin::Dialled, None)),
            "no handshake yet: nothing to say"
        );
        assert!(
            !unverified(&tls(Origin::Accepted, Some(false))),
            "clients present no certificate"
        );
    }
}
