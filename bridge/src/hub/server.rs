//! What pages are told about the bridge as a whole, and may change: where the listeners are,
//! the auto-reply rules in force, and how connections are read (their framing and checksum).
//! Each change is made and told under the hub's lock, so that every page learns it exactly once.

use std::sync::{Arc, PoisonError};

use protocol::rules::Rule;
use protocol::{
    ConnId, ConnSettings, Event, Problem, ProblemKind, ProxyListener, ServerInfo, Transport, Way,
};

use super::Hub;
use crate::rules::RuleSet;

impl Hub {
    /// Records where one of the listeners now is (`listen: None`: stopped), with the UDP
    /// socket's multicast groups or the TLS listener's certificate fingerprint, and tells every
    /// page, under the lock that snapshots take, so that every page learns it exactly once.
    pub fn set_listener(
        &self,
        transport: Transport,
        listen: Option<String>,
        groups: Vec<String>,
        fingerprint: Option<String>,
    ) {
        let mut s = self.lock();
        s.server.set_listener(
            transport,
            listen.clone(),
            groups.clone(),
            fingerprint.clone(),
        );
        let event = Event::Listener {
            listen,
            transport,
            groups,
            fingerprint,
        };
        self.fan_out(event.to_frame());
    }

    /// Records the proxies now running, and tells every page.
    pub fn set_proxies(&self, proxies: Vec<ProxyListener>) {
        let mut s = self.lock();
        s.server.proxies.clone_from(&proxies);
        self.fan_out(Event::Proxies { proxies }.to_frame());
    }

    /// What the pages are told about the bridge, now.
    pub fn server(&self) -> ServerInfo {
        self.lock().server.clone()
    }

    /// The auto-reply rules in force.
    pub fn rules(&self) -> Arc<RuleSet> {
        let rules = self
            .inner
            .rules
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        rules.clone()
    }

    /// Replaces the auto-reply rules with `rules`, compiled, and tells every page.
    pub fn set_rules(&self, rules: Vec<Rule>, compiled: RuleSet) {
        let mut s = self.lock();
        let mut in_force = self
            .inner
            .rules
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *in_force = Arc::new(compiled.keep_hits_of(&in_force));
        drop(in_force);
        s.hits_told.clear();
        s.server.rules.clone_from(&rules);
        self.fan_out(Event::Rules { rules }.to_frame());
    }

    /// Reads connection `conn` differently from its next byte on (a proxied conversation's
    /// messages that go `way`, or both ways), or, without `conn`, every connection that opens
    /// from now on; and tells every page.
    pub fn configure(
        &self,
        conn: Option<ConnId>,
        way: Option<Way>,
        settings: ConnSettings,
    ) -> Result<(), Problem> {
        let invalid = |why: String| Problem::new(ProblemKind::InvalidSettings, why);
        settings
            .framing
            .validate()
            .map_err(|why| invalid(format!("cannot frame messages so: {why}")))?;
        let mut s = self.lock();
        let Some(id) = conn else {
            if let Some(way) = way {
                return Err(invalid(format!(
                    "`way` ({}) names one side of a proxied conversation: give its `conn` too",
                    way.label()
                )));
            }
            s.server.defaults = settings.clone();
            self.fan_out(Event::Defaults { settings }.to_frame());
            return Ok(());
        };
        let conn = s.conns.get_mut(&id).ok_or_else(|| {
            Problem::new(
                ProblemKind::NoSuchConnection,
                format!("there is no connection {id}"),
            )
            .on(id)
        })?;
        // Which sides this reads: the client's (the conversation's own), the server's, or both.
        let (client, server) = match (way, conn.info.proxy.is_some()) {
            (Some(way), false) => {
                return Err(invalid(format!(
                    "connection {id} is not proxied: it has no {} way to read apart; leave \
                     `way` out",
                    way.label()
                ))
                .on(id))
            }
            (None, proxied) => (true, proxied),
            (Some(way), true) => (way == Way::ClientToServer, way == Way::ServerToClient),
        };
        let info = Arc::make_mut(&mut conn.info);
        let control = conn.control.as_ref();
        if client {
            info.settings = settings.clone();
            if let Some(control) = control {
                control.settings.send_replace(settings.clone());
            }
        }
        if let (true, Some(proxy)) = (server, info.proxy.as_mut()) {
            proxy.settings = settings.clone();
            if let Some(tx) = control.and_then(|c| c.server_settings.as_ref()) {
                tx.send_replace(settings);
            }
        }
        self.publish(&conn.info);
        Ok(())
    }
}
