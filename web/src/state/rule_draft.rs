//! Auto-reply rules as the rules panel edits them: a rule's fields as typed, and the rule they
//! make, checked by the protocol's own code (a regex's syntax, which only the bridge can check,
//! comes back as its `invalid_rules`, which names the rule); a rule in one line; a rule made from a
//! received message ("reply to messages like this"); and the rule set with one rule added,
//! changed, moved or removed, which the panel sends whole.

use protocol::checksum::Checksum;
use protocol::rules::{Action, ReplyBody, Rule, Scope, Trigger, MAX_DELAY_MS};
use protocol::text_encoding::{Segment, TextEncoding};
use protocol::{ConnId, Way};

use super::reading::{checksum_of, pick, whole_number};
use crate::bytes_view::size::plural;

/// What makes a rule answer: `(value, label)`.
pub const TRIGGERS: [(&str, &str); 7] = [
    ("exact", "Message is"),
    ("prefix", "Starts with"),
    ("contains", "Contains"),
    ("regex", "Matches regex"),
    ("hex", "Hex pattern"),
    ("connect", "On connect"),
    ("any", "Any message"),
];

/// Which connections a rule answers on: `(value, label)`.
pub const SCOPES: [(&str, &str); 4] = [
    ("all", "All connections"),
    ("accepted", "Accepted ones"),
    ("dialled", "Dialled ones"),
    ("conn", "One connection"),
];

/// Which messages a rule watches: an ordinary conversation's, or a proxy's going one way
/// (rules in passing): `(value, label)`.
pub const WAYS: [(&str, &str); 3] = [
    ("", "Messages received"),
    ("client_to_server", "Proxied client→server"),
    ("server_to_client", "Proxied server→client"),
];

/// What a rule does with a message it matches: `(value, label)`. Only `reply` is for ordinary
/// conversations.
pub const ACTIONS: [(&str, &str); 4] = [
    ("reply", "Reply"),
    ("answer", "Answer instead of forwarding"),
    ("rewrite", "Rewrite what matched, forward"),
    ("drop", "Drop"),
];

/// A rule's fields, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDraft {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// One of [`SCOPES`]' values.
    pub scope: &'static str,
    /// The connection's id, when `scope` is `conn`.
    pub scope_conn: String,
    /// One of [`WAYS`]' values.
    pub way: &'static str,
    /// One of [`ACTIONS`]' values.
    pub action: &'static str,
    /// One of [`TRIGGERS`]' values.
    pub trigger: &'static str,
    /// The trigger's text, regex or hex pattern.
    pub pattern: String,
    pub reply_hex: bool,
    pub reply: String,
    pub checksum: Option<Checksum>,
    pub delay_ms: String,
    pub once: bool,
    pub encoding: TextEncoding,
}

impl RuleDraft {
    pub fn of(rule: &Rule) -> RuleDraft {
        let (scope, scope_conn) = match rule.scope {
            Scope::All => ("all", String::new()),
            Scope::Accepted => ("accepted", String::new()),
            Scope::Dialled => ("dialled", String::new()),
            Scope::Conn(id) => ("conn", id.to_string()),
        };
        let (reply_hex, reply) = match &rule.reply {
            ReplyBody::Text(text) => (false, text.clone()),
            ReplyBody::Hex(hex) => (true, hex.clone()),
        };
        RuleDraft {
            id: rule.id.clone(),
            name: rule.name.clone(),
            enabled: rule.enabled,
            scope,
            scope_conn,
            way: match rule.way {
                None => "",
                Some(Way::ClientToServer) => "client_to_server",
                Some(Way::ServerToClient) => "server_to_client",
            },
            action: rule.action.name(),
            trigger: TRIGGERS
                .iter()
                .find(|(value, _)| *value == rule.trigger.kind())
                .map_or("exact", |(value, _)| value),
            pattern: pattern_of(&rule.trigger).unwrap_or_default().to_owned(),
            reply_hex,
            reply,
            checksum: rule.checksum,
            delay_ms: rule.delay_ms.to_string(),
            once: rule.once,
            encoding: rule.encoding,
        }
    }

    /// A field changed (its name in the form, and its value).
    pub fn set(&mut self, field: &str, value: String) {
        match field {
            "id" => self.id = value,
            "name" => self.name = value,
            "enabled" => self.enabled = value == "true",
            "scope" => self.scope = pick(&SCOPES, &value),
            "conn" => self.scope_conn = value,
            "way" => self.way = pick(&WAYS, &value),
            "action" => self.action = pick(&ACTIONS, &value),
            "trigger" => self.trigger = pick(&TRIGGERS, &value),
            "pattern" => self.pattern = value,
            "reply-kind" => self.reply_hex = value == "hex",
            "reply" => self.reply = value,
            "checksum" => self.checksum = checksum_of(&value),
            "delay" => self.delay_ms = value,
            "once" => self.once = value == "true",
            "encoding" => self.encoding = TextEncoding::from_label(&value).unwrap_or_default(),
            _ => {}
        }
    }

    /// The rule the fields say; or why there is none, naming the rule, as the bridge would.
    pub fn rule(&self) -> Result<Rule, String> {
        let label = || Rule::new(self.id.trim(), Trigger::Any, ReplyBody::Text(String::new()));
        let scope = match self.scope {
            "accepted" => Scope::Accepted,
            "dialled" => Scope::Dialled,
            "conn" => Scope::Conn(self.scope_conn.trim().parse::<ConnId>().map_err(|_| {
                format!(
                    "{}: its connection is a connection's number, e.g. 3: “{}” is not one",
                    label().label(),
                    self.scope_conn.trim()
                )
            })?),
            _ => Scope::All,
        };
        let delay = self.delay_ms.trim();
        let delay_ms = match whole_number(delay) {
            Some(ms) => u32::try_from(ms).map_err(|_| {
                format!(
                    "{}: its delay of {delay} ms is too long: at most {MAX_DELAY_MS} (an hour)",
                    label().label()
                )
            })?,
            None => {
                return Err(format!(
                    "{}: its delay is a whole number of milliseconds: “{delay}” is not one",
                    label().label()
                ))
            }
        };
        if self.pattern.is_empty() {
            if let Some(what) = self.pattern_needed() {
                let when = TRIGGERS
                    .iter()
                    .find(|(value, _)| *value == self.trigger)
                    .map_or(self.trigger, |(_, label)| label);
                return Err(format!(
                    "{}: “{when}” needs {what}: write it, or choose “Any message” under When to \
                     answer every message",
                    label().label()
                ));
            }
        }
        let pattern = self.pattern.clone();
        let trigger = match self.trigger {
            "connect" => Trigger::Connect,
            "any" => Trigger::Any,
            "prefix" => Trigger::Prefix { text: pattern },
            "contains" => Trigger::Contains { text: pattern },
            "regex" => Trigger::Regex { pattern },
            "hex" => Trigger::Hex { pattern },
            _ => Trigger::Exact { text: pattern },
        };
        let rule = Rule {
            id: self.id.trim().to_owned(),
            name: self.name.trim().to_owned(),
            enabled: self.enabled,
            scope,
            way: match self.way {
                "client_to_server" => Some(Way::ClientToServer),
                "server_to_client" => Some(Way::ServerToClient),
                _ => None,
            },
            action: match self.action {
                "answer" => Action::Answer,
                "rewrite" => Action::Rewrite,
                "drop" => Action::Drop,
                _ => Action::Reply,
            },
            trigger,
            // A drop sends nothing: what the reply field still holds is not its.
            reply: if self.action == "drop" {
                ReplyBody::default()
            } else if self.reply_hex {
                ReplyBody::Hex(self.reply.clone())
            } else {
                ReplyBody::Text(self.reply.clone())
            },
            encoding: self.encoding,
            delay_ms,
            once: self.once,
            checksum: self.checksum,
        };
        rule.check()?;
        Ok(rule)
    }
}

impl RuleDraft {
    /// What the trigger chosen needs typed, in the form's words; `None` when it needs nothing.
    fn pattern_needed(&self) -> Option<&'static str> {
        match self.trigger {
            "connect" | "any" => None,
            "regex" => Some("a pattern"),
            "hex" => Some("bytes"),
            _ => Some("a text"),
        }
    }
}

/// A trigger's text or pattern, if it has one.
fn pattern_of(trigger: &Trigger) -> Option<&str> {
    match trigger {
        Trigger::Connect | Trigger::Any => None,
        Trigger::Exact { text } | Trigger::Prefix { text } | Trigger::Contains { text } => {
            Some(text)
        }
        Trigger::Regex { pattern } | Trigger::Hex { pattern } => Some(pattern),
    }
}

/// At most `max` characters of `text`, then `…`.
fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A rule in one line: when it answers, what, and how.
/// `message is “*IDN?” → “ACME\n”`, `hex 01 03 ?? * → hex 01 03 + CRC-16/MODBUS, after 5 ms`.
pub fn summary(rule: &Rule) -> String {
    let quoted = |text: &str| format!("“{}”", short(text, 32));
    let when = match &rule.trigger {
        Trigger::Connect => "on connect".to_owned(),
        Trigger::Any => "any message".to_owned(),
        Trigger::Exact { text } => format!("message is {}", quoted(text)),
        Trigger::Prefix { text } => format!("starts with {}", quoted(text)),
        Trigger::Contains { text } => format!("contains {}", quoted(text)),
        Trigger::Regex { pattern } => format!("matches /{}/", short(pattern, 32)),
        Trigger::Hex { pattern } => format!("hex {}", short(pattern, 32)),
    };
    let what = match &rule.reply {
        ReplyBody::Text(text) => quoted(text),
        ReplyBody::Hex(hex) => format!("hex {}", short(hex, 32)),
    };
    let what = match rule.action {
        Action::Reply => what,
        Action::Answer => format!("answer {what} instead"),
        Action::Rewrite => format!("rewrite to {what}"),
        Action::Drop => "drop".to_owned(),
    };
    let mut line = match rule.way {
        Some(way) => format!("{}: {when} → {what}", way.label()),
        None => format!("{when} → {what}"),
    };
    if let Some(checksum) = rule.checksum {
        line += &format!(" + {}", checksum.label());
    }
    let mut how = Vec::new();
    if rule.delay_ms > 0 {
        how.push(format!("after {} ms", rule.delay_ms));
    }
    if rule.once {
        how.push("once per connection".to_owned());
    }
    match rule.scope {
        Scope::All => {}
        Scope::Accepted => how.push("accepted connections only".to_owned()),
        Scope::Dialled => how.push("dialled connections only".to_owned()),
        Scope::Conn(id) => how.push(format!("connection {id} only")),
    }
    if rule.encoding != TextEncoding::Utf8 {
        how.push(rule.encoding.label().to_owned());
    }
    if !how.is_empty() {
        line += &format!(", {}", how.join(", "));
    }
    line
}

/// How many rules can answer, and how many are switched off: `2 rules in force · 1 off`. A rule
/// that is off is kept, but it is not in force.
pub fn in_force(rules: &[Rule]) -> String {
    let on = rules.iter().filter(|r| r.enabled).count() as u64;
    let off = rules.len() as u64 - on;
    let count = format!("{} in force", plural(on, "rule"));
    if off == 0 {
        count
    } else {
        format!("{count} · {off} off")
    }
}

/// A refusal in its two parts: the reason, in words, and what follows it on lines of its own (a
/// regex's pattern with the regex crate's `^` under the fault), to show in a fixed-width font.
pub fn reason_and_pointer(why: &str) -> (&str, Option<&str>) {
    match why.split_once('\n') {
        Some((reason, pointer)) => (reason, Some(pointer)),
        None => (why, None),
    }
}

/// An id that no rule of `rules` has: `stem-1`, `stem-2`, ...
pub fn fresh_id(rules: &[Rule], stem: &str) -> String {
    (1..)
        .map(|n| format!("{stem}-{n}"))
        .find(|id| rules.iter().all(|r| &r.id != id))
        .expect("some number is free")
}

/// A new rule, enabled, answering every message with nothing yet: for "Add rule".
pub fn blank(rules: &[Rule], encoding: TextEncoding) -> Rule {
    Rule {
        encoding,
        ..Rule::new(
            fresh_id(rules, "rule"),
            Trigger::Exact {
                text: String::new(),
            },
            ReplyBody::Text(String::new()),
        )
    }
}

/// A rule that answers messages like `message` (received in `encoding`), its reply left to
/// fill in: an exact match on its text (less one line ending, which an exact trigger allows
/// anyway), or, when it is not text, a hex pattern of its bytes.
pub fn like_message(message: &[u8], encoding: TextEncoding, rules: &[Rule]) -> Rule {
    let body = ["\r\n", "\n", "\r"]
        .iter()
        .find_map(|end| message.strip_suffix(end.as_bytes()))
        .unwrap_or(message);
    let (trigger, reply, name) = match as_text(body, encoding) {
        Some(text) => {
            let text = protocol::escape::escape(&text);
            let name = format!("Reply to “{}”", short(&text, 24));
            (
                Trigger::Exact { text },
                ReplyBody::Text(String::new()),
                name,
            )
        }
        None => {
            let pattern = protocol::hex::encode_with(message, " ");
            let name = format!("Reply to {}", short(&pattern, 24));
            (
                Trigger::Hex { pattern },
                ReplyBody::Hex(String::new()),
                name,
            )
        }
    };
    Rule {
        name,
        encoding,
        ..Rule::new(fresh_id(rules, "reply"), trigger, reply)
    }
}

/// `bytes` as text in `encoding`, when they are text: every byte decodes, and no control
/// character but tabs and line breaks.
fn as_text(bytes: &[u8], encoding: TextEncoding) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let mut text = String::new();
    for segment in encoding.decode(bytes) {
        match segment {
            Segment::Text(t) => text.push_str(&t),
            Segment::Invalid(_) => return None,
        }
    }
    let control = |c: char| c.is_control() && !matches!(c, '\t' | '\r' | '\n');
    (!text.chars().any(control)).then_some(text)
}

/// `rules` with `rule` in place of the one whose id was `was`, or added at the end.
pub fn with_rule(rules: &[Rule], was: Option<&str>, rule: Rule) -> Vec<Rule> {
    let mut out = rules.to_vec();
    match was.and_then(|id| out.iter().position(|r| r.id == id)) {
        Some(at) => out[at] = rule,
        None => out.push(rule),
    }
    out
}

/// `rules` with the rule at `at` moved one place earlier (`up`) or later.
pub fn moved(rules: &[Rule], at: usize, up: bool) -> Vec<Rule> {
    let mut out = rules.to_vec();
    let to = if up { at.checked_sub(1) } else { Some(at + 1) };
    if let Some(to) = to.filter(|&to| to < out.len() && at < out.len()) {
        out.swap(at, to);
    }
    out
}

/// `rules` without the rule whose id is `id`.
pub fn without(rules: &[Rule], id: &str) -> Vec<Rule> {
    rules.iter().filter(|r| r.id != id).cloned().collect()
}

/// `rules` with `rule`, deleted from place `at`, back there (or last, if fewer are left);
/// unchanged if a rule has its id again.
pub fn restored(rules: &[Rule], rule: &Rule, at: usize) -> Vec<Rule> {
    let mut out = rules.to_vec();
    if out.iter().all(|r| r.id != rule.id) {
        out.insert(at.min(out.len()), rule.clone());
    }
    out
}

/// `rules` with the rule whose id is `id` turned on or off.
pub fn toggled(rules: &[Rule], id: &str, enabled: bool) -> Vec<Rule> {
    rules
        .iter()
        .map(|r| Rule {
            enabled: if r.id == id { enabled } else { r.enabled },
            ..r.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::escape::unescape;
    use protocol::rules::validate_rules;

    fn every_field() -> Rule {
        Rule {
            id: "m".into(),
            name: "Modbus read".into(),
            enabled: false,
            scope: Scope::Conn(7),
            way: None,
            action: Action::Reply,
            trigger: Trigger::Hex {
                pattern: "01 03 ?? ?? *".into(),
            },
            reply: ReplyBody::Hex("01 03 02 ${counter:u16}".into()),
            encoding: TextEncoding::Gbk,
            delay_ms: 5,
            once: true,
            checksum: Some(Checksum::Crc16Modbus),
        }
    }

    #[test]
    fn every_field_reads_back_from_the_form() {
        let rules = [
            every_field(),
            Rule::new(
                "idn",
                Trigger::Exact {
                    text: "*IDN?".into(),
                },
                ReplyBody::Text("ACME\\n".into()),
            ),
            Rule::new("hi", Trigger::Connect, ReplyBody::Text("hello".into())),
            Rule {
                way: Some(Way::ServerToClient),
                action: Action::Rewrite,
                ..Rule::new("w", Trigger::Any, ReplyBody::Text("[${msg}]".into()))
            },
            Rule {
                way: Some(Way::ClientToServer),
                action: Action::Drop,
                ..Rule::new("d", Trigger::Any, ReplyBody::default())
            },
            Rule::new(
                "re",
                Trigger::Regex {
                    pattern: "^GET (\\d+)".into(),
                },
                ReplyBody::Text("$1".into()),
            ),
        ];
        for rule in rules {
            assert_eq!(RuleDraft::of(&rule).rule(), Ok(rule.clone()));
        }
    }

    #[test]
    fn each_field_sets_its_part() {
        let mut d = RuleDraft::of(&blank(&[], TextEncoding::Utf8));
        for (field, value) in [
            ("id", "m"),
            ("name", "Modbus read"),
            ("enabled", "false"),
            ("scope", "conn"),
            ("conn", "7"),
            ("trigger", "hex"),
            ("pattern", "01 03 ?? ?? *"),
            ("reply-kind", "hex"),
            ("reply", "01 03 02 ${counter:u16}"),
            ("checksum", "crc16_modbus"),
            ("delay", "5"),
            ("once", "true"),
            ("encoding", "GBK"),
        ] {
            d.set(field, value.into());
        }
        assert_eq!(d.rule(), Ok(every_field()));
    }

    #[test]
    fn the_form_refuses_what_the_bridge_would_naming_the_rule() {
        let mut draft = RuleDraft::of(&every_field());
        draft.delay_ms = "soon".into();
        assert_eq!(
            draft.rule().unwrap_err(),
            "rule `m`: its delay is a whole number of milliseconds: “soon” is not one"
        );
        let mut draft = RuleDraft::of(&every_field());
        draft.reply = "01 0".into();
        assert!(draft
            .rule()
            .unwrap_err()
            .starts_with("rule `m` (Modbus read): its reply"));
        let mut draft = RuleDraft::of(&every_field());
        draft.delay_ms = "99999999999".into();
        assert_eq!(
            draft.rule().unwrap_err(),
            "rule `m`: its delay of 99999999999 ms is too long: at most 3600000 \
             (an hour)"
        );
        // An empty pattern is told in the form's words, not the rules file's.
        let mut draft = RuleDraft::of(&every_field());
        draft.trigger = "regex";
        draft.pattern.clear();
        assert_eq!(
            draft.rule().unwrap_err(),
            "rule `m`: “Matches regex” needs a pattern: write it, or choose \
             “Any message” under When to answer every message"
        );
        draft.trigger = "exact";
        assert!(draft
            .rule()
            .unwrap_err()
            .contains("“Message is” needs a text"));
        draft.trigger = "any";
        draft.reply_hex = false;
        draft.reply = "x".into();
        assert!(draft.rule().is_ok(), "any message needs no pattern");
        let mut draft = RuleDraft::of(&every_field());
        draft.scope_conn = "x".into();
        assert!(draft.rule().unwrap_err().contains("“x” is not one"));
    }

    #[test]
    fn a_rule_in_passing_is_made_from_its_way_and_action() {
        let mut d = RuleDraft::of(&blank(&[], TextEncoding::Utf8));
        for (field, value) in [
            ("way", "client_to_server"),
            ("action", "answer"),
            ("trigger", "exact"),
            ("pattern", "PING"),
            ("reply", "PONG"),
        ] {
            d.set(field, value.into());
        }
        let rule = d.rule().unwrap();
        assert_eq!(
            (rule.way, rule.action),
            (Some(Way::ClientToServer), Action::Answer)
        );
        assert_eq!(
            summary(&rule),
            "client→server: message is “PING” → answer “PONG” instead"
        );
        // Dropping, what the reply field holds is not sent, nor refused.
        d.set("action", "drop".into());
        let drop = d.rule().unwrap();
        assert_eq!(drop.reply, ReplyBody::default());
        assert_eq!(summary(&drop), "client→server: message is “PING” → drop");
        // The bridge's own refusals, named as the rule's fields are.
        d.set("way", String::new());
        assert!(d
            .rule()
            .unwrap_err()
            .contains("its action `drop` is for a proxy's messages"));
        d.set("way", "server_to_client".into());
        d.set("action", "rewrite".into());
        d.set("delay", "5".into());
        assert!(d
            .rule()
            .unwrap_err()
            .contains("its action `rewrite` acts on the message"));
    }

    #[test]
    fn a_rule_reads_in_one_line() {
        assert_eq!(
            summary(&every_field()),
            "hex 01 03 ?? ?? * → hex 01 03 02 ${counter:u16} + CRC-16/MODBUS, after 5 ms, \
             once per connection, connection 7 only, GBK"
        );
        let idn = Rule::new(
            "idn",
            Trigger::Exact {
                text: "*IDN?".into(),
            },
            ReplyBody::Text("ACME,Model 1000,SN${counter},1.0 and a very long tail\\n".into()),
        );
        assert_eq!(
            summary(&idn),
            "message is “*IDN?” → “ACME,Model 1000,SN${counter},1.0…”"
        );
    }

    #[test]
    fn a_text_message_makes_an_exact_rule_that_matches_it() {
        let rules = [Rule::new(
            "reply-1",
            Trigger::Any,
            ReplyBody::Text("x".into()),
        )];
        let rule = like_message(b"MEAS:VOLT? \\1\t\r\n", TextEncoding::Utf8, &rules);
        assert_eq!(rule.id, "reply-2");
        assert_eq!(
            rule.trigger,
            Trigger::Exact {
                text: "MEAS:VOLT? \\\\1\\t".into()
            }
        );
        assert_eq!(rule.reply, ReplyBody::Text(String::new()));
        assert_eq!(rule.name, "Reply to “MEAS:VOLT? \\\\1\\t”");
        let Trigger::Exact { text } = &rule.trigger else {
            unreachable!()
        };
        assert_eq!(unescape(text, rule.encoding).unwrap(), b"MEAS:VOLT? \\1\t");

        // In the conversation's encoding.
        let gbk = like_message(b"\xc4\xe3\xba\xc3\n", TextEncoding::Gbk, &[]);
        assert_eq!(
            gbk.trigger,
            Trigger::Exact {
                text: "你好".into()
            }
        );
        assert_eq!(gbk.encoding, TextEncoding::Gbk);
    }

    #[test]
    fn bytes_that_are_not_text_make_a_hex_rule() {
        let rule = like_message(
            &[0x01, 0x03, 0x00, 0x0a, 0xc5, 0xcd],
            TextEncoding::Utf8,
            &[],
        );
        assert_eq!(
            rule.trigger,
            Trigger::Hex {
                pattern: "01 03 00 0a c5 cd".into()
            }
        );
        assert_eq!(rule.reply, ReplyBody::Hex(String::new()));
        let nothing_but_an_ending = like_message(b"\r\n", TextEncoding::Utf8, &[]);
        assert!(matches!(nothing_but_an_ending.trigger, Trigger::Hex { .. }));
        // Filled in, each checks.
        let mut rule = rule;
        rule.reply = ReplyBody::Hex("01 83 02".into());
        assert_eq!(validate_rules(&[rule]), Ok(()));
    }

    #[test]
    fn the_set_is_changed_one_rule_at_a_time() {
        let rule = |id: &str| Rule::new(id, Trigger::Any, ReplyBody::Text(id.into()));
        let ids = |rules: &[Rule]| rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let set = vec![rule("a"), rule("b"), rule("c")];
        assert_eq!(ids(&moved(&set, 2, true)), ["a", "c", "b"]);
        assert_eq!(ids(&moved(&set, 0, true)), ["a", "b", "c"]);
        assert_eq!(ids(&moved(&set, 2, false)), ["a", "b", "c"]);
        assert_eq!(ids(&with_rule(&set, Some("b"), rule("x"))), ["a", "x", "c"]);
        assert_eq!(ids(&with_rule(&set, None, rule("d"))), ["a", "b", "c", "d"]);
        assert_eq!(ids(&without(&set, "a")), ["b", "c"]);
        assert_eq!(
            ids(&restored(&without(&set, "b"), &rule("b"), 1)),
            ["a", "b", "c"]
        );
        assert_eq!(ids(&restored(&[rule("a")], &rule("c"), 2)), ["a", "c"]);
        assert_eq!(
            ids(&restored(&set, &rule("b"), 0)),
            ["a", "b", "c"],
            "b is back already"
        );
        assert!(!toggled(&set, "b", false)[1].enabled);
        assert_eq!(in_force(&set), "3 rules in force");
        assert_eq!(
            in_force(&toggled(&set, "b", false)),
            "2 rules in force · 1 off"
        );
        assert_eq!(in_force(&set[..1]), "1 rule in force");
        assert_eq!(in_force(&[]), "0 rules in force");
        assert_eq!(
            reason_and_pointer(
                "rule `r`: its regex does not compile: unclosed group\nMEAS(\n    ^"
            ),
            (
                "rule `r`: its regex does not compile: unclosed group",
                Some("MEAS(\n    ^")
            )
        );
        assert_eq!(reason_and_pointer("no pointer"), ("no pointer", None));
        assert_eq!(fresh_id(&set, "rule"), "rule-1");
        assert_eq!(blank(&[rule("rule-1")], TextEncoding::Gbk).id, "rule-2");
    }
}
