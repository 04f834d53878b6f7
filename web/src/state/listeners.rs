//! What the page remembers about the bridge's TLS listener and UDP socket, beyond what the
//! bridge says of them ([`protocol::ServerInfo`] holds where each is and what it joined): where
//! each last listened, to start it there again, and why the page's last request to one of
//! them (or to start or stop a proxy) failed, to say so beside its controls rather than at the
//! top of the page.
//!
//! The page gives each listener command a request id, and the bridge names it in the problem
//! that answers a command that failed: the failure goes to the listener that was asked.

use std::rc::Rc;

use protocol::{Command, Problem, RequestId, Transport};

/// What a listener command is about: where a listener listens, or the UDP socket's groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    Listen(Transport),
    Groups,
    /// Start or stop a proxy.
    Proxies,
}

impl Asked {
    const ALL: [Asked; 5] = [
        Asked::Listen(Transport::Tcp),
        Asked::Listen(Transport::Tls),
        Asked::Listen(Transport::Udp),
        Asked::Groups,
        Asked::Proxies,
    ];

    /// What `command` asks of the listeners, if anything.
    pub fn of(command: &Command) -> Option<Asked> {
        match command {
            Command::Listen { transport, .. } | Command::StopListening { transport, .. } => {
                Some(Asked::Listen(*transport))
            }
            Command::JoinGroup { .. } | Command::LeaveGroup { .. } => Some(Asked::Groups),
            Command::Proxy { .. } | Command::StopProxy { .. } => Some(Asked::Proxies),
            _ => None,
        }
    }

    fn slot(self) -> usize {
        match self {
            Asked::Listen(Transport::Tcp) => 0,
            Asked::Listen(Transport::Tls) => 1,
            Asked::Listen(Transport::Udp) => 2,
            Asked::Groups => 3,
            Asked::Proxies => 4,
        }
    }

    fn transport(self) -> Option<Transport> {
        match self {
            Asked::Listen(transport) => Some(transport),
            Asked::Groups => Some(Transport::Udp),
            Asked::Proxies => None,
        }
    }
}

/// The listeners' memory (TCP's address is `State::last_listen`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listeners {
    /// Where each last listened, kept when it stops, by [`Asked::slot`].
    last: [Option<String>; 3],
    /// Why this page's last request of each kind failed, until it succeeds or is asked again.
    errors: [Option<Rc<str>>; 5],
    /// The id of this page's last request of each kind, by [`Asked::slot`].
    asked: [Option<RequestId>; 5],
}

impl Listeners {
    /// Where `transport`'s listener last listened, if it ever did while the page watched.
    pub fn last(&self, transport: Transport) -> Option<&str> {
        self.last[Asked::Listen(transport).slot()].as_deref()
    }

    /// Why the page's last request of this kind failed, if it did.
    pub fn error(&self, asked: Asked) -> Option<&Rc<str>> {
        self.errors[asked.slot()].as_ref()
    }

    /// The page asks something of the listeners, with request id `request`: an earlier
    /// failure of the kind no longer stands.
    pub(super) fn ask(&mut self, asked: Asked, request: RequestId) {
        self.asked[asked.slot()] = Some(request);
        self.errors[asked.slot()] = None;
    }

    /// A command failed: kept for the listener whose request it answers, if it answers one of
    /// this page's. Whether it found its place (else it is the page's notice to show).
    pub(super) fn failed(&mut self, problem: &Problem) -> bool {
        let slot = problem
            .request
            .and_then(|request| self.asked.iter().position(|a| *a == Some(request)));
        if let Some(slot) = slot {
            self.errors[slot] = Some(problem.message.as_str().into());
        }
        slot.is_some()
    }

    /// The bridge says where `transport`'s listener now is: whatever was asked of it is done.
    pub(super) fn heard(&mut self, transport: Transport, listen: Option<&str>) {
        if let Some(addr) = listen {
            self.last[Asked::Listen(transport).slot()] = Some(addr.to_string());
        }
        for asked in Asked::ALL
            .into_iter()
            .filter(|a| a.transport() == Some(transport))
        {
            if self.asked[asked.slot()].is_some() {
                self.errors[asked.slot()] = None;
            }
        }
    }

    /// The bridge says which proxies run now: what was asked of them is done.
    pub(super) fn heard_proxies(&mut self) {
        let slot = Asked::Proxies.slot();
        if self.asked[slot].is_some() {
            self.errors[slot] = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener command's failure, answering `request`.
    fn failure(request: Option<RequestId>, message: &str) -> Problem {
        Problem::new(protocol::ProblemKind::ListenFailed, message).answering(request)
    }

    #[test]
    fn a_failure_belongs_to_the_listener_asked_until_it_answers() {
        const UDP: Asked = Asked::Listen(Transport::Udp);
        let mut l = Listeners::default();
        assert!(
            !l.failed(&failure(None, "cannot listen")),
            "nothing asked: not ours to place"
        );
        l.ask(UDP, 1);
        assert!(
            !l.failed(&failure(Some(2), "cannot listen")),
            "another page's request"
        );
        assert!(l.failed(&failure(
            Some(1),
            "cannot listen for UDP on 127.0.0.1:1: in use"
        )));
        assert_eq!(
            l.error(UDP).map(|e| &**e),
            Some("cannot listen for UDP on 127.0.0.1:1: in use")
        );
        assert_eq!(l.error(Asked::Listen(Transport::Tls)), None);
        assert_eq!(l.error(Asked::Groups), None);
        // Asking again clears it; so does the bridge's word that the socket moved.
        l.ask(UDP, 3);
        assert_eq!(l.error(UDP), None);
        l.failed(&failure(Some(3), "again"));
        l.heard(Transport::Udp, Some("127.0.0.1:9000"));
        assert_eq!(l.error(UDP), None);
        assert_eq!(l.last(Transport::Udp), Some("127.0.0.1:9000"));
        // A stop keeps where it was, to start there again.
        l.heard(Transport::Udp, None);
        assert_eq!(l.last(Transport::Udp), Some("127.0.0.1:9000"));
        assert_eq!(l.last(Transport::Tls), None);
    }

    #[test]
    fn news_of_another_listener_leaves_a_failure_in_place() {
        let mut l = Listeners::default();
        l.ask(Asked::Listen(Transport::Tls), 1);
        l.failed(&failure(
            Some(1),
            "cannot listen for TLS on [::]:7443: in use",
        ));
        l.heard(Transport::Udp, Some("[::]:7777"));
        assert!(l.error(Asked::Listen(Transport::Tls)).is_some());
    }

    #[test]
    fn a_group_that_could_not_be_joined_is_the_groups_failure() {
        let join = Command::JoinGroup {
            group: "10.0.0.1".into(),
            interface: None,
            request: None,
        };
        let asked = Asked::of(&join).unwrap();
        assert_eq!(asked, Asked::Groups);
        let mut l = Listeners::default();
        l.ask(Asked::Listen(Transport::Udp), 1);
        l.ask(asked, 2);
        l.failed(&failure(Some(2), "10.0.0.1 is not a multicast address"));
        assert!(l.error(Asked::Groups).is_some());
        assert_eq!(l.error(Asked::Listen(Transport::Udp)), None);
        // Joined after all: the socket's news clears it.
        l.heard(Transport::Udp, Some("[::]:7777"));
        assert_eq!(l.error(Asked::Groups), None);
        assert_eq!(
            Asked::of(&Command::StopListening {
                transport: Transport::Tls,
                request: None,
            }),
            Some(Asked::Listen(Transport::Tls))
        );
        assert_eq!(Asked::of(&Command::ForgetClosed), None);
    }
}
