//! Auto-reply rules: the bridge answers a peer by itself, as the device it stands in for would.
//! The same typed rules come from the page's rules panel (JSON) and from a rules file (TOML);
//! the bridge's engine runs them.
//!
//! A rule is tried for every message a connection receives (after framing), or once when the
//! connection opens (`on = "connect"`, a greeting). Rules are tried **in order, and the first
//! enabled rule in scope that matches answers**; later rules are not tried. So put specific
//! rules first and a catch-all (`on = "any"`) last. A `once` rule that has answered on a
//! connection is skipped there afterwards, so the rule after it answers instead.
//!
//! ```json
//! {"id":"idn","name":"Identify","enabled":true,"scope":"all",
//!  "trigger":{"on":"exact","text":"*IDN?"},
//!  "reply":{"text":"ACME,Model 1000,SN${counter},1.0\\n"},
//!  "encoding":"utf-8","delay_ms":0,"once":false}
//! ```
//!
//! Fields (all but `id` and `trigger` may be left out; a rule without `reply` sends nothing):
//! - `id`: short and unique (letters, digits, `-`, `_`, `.`): counters and errors name it.
//! - `name`: for people; `enabled` (default true).
//! - `scope`: `"all"` (default), `"accepted"` (peers that connected to the bridge), `"dialled"`
//!   (servers the bridge connected to), or `{"conn": 3}` (one connection).
//! - `trigger`, tagged by `on`:
//!   - `{"on":"connect"}`: when the connection opens;
//!   - `{"on":"any"}`: every message;
//!   - `{"on":"exact","text":...}`: the message is the text, with or without one trailing line
//!     ending (`\r\n`, `\n` or `\r`, as for the exit word);
//!   - `{"on":"prefix","text":...}`, `{"on":"contains","text":...}`: the message starts with,
//!     or contains, the text;
//!   - `{"on":"regex","pattern":...}`: the pattern (Rust `regex` syntax) matches the message's
//!     text less one trailing line ending; its groups are captures;
//!   - `{"on":"hex","pattern":"01 03 ?? ?? 00 02 ?? ??"}`: the message's bytes, `??` for any
//!     byte (each run of them a capture), and a final `*` for any further bytes.
//!
//!   Trigger texts take the escapes `\r \n \t \0 \\ \xHH` (see [`crate::escape`]).
//! - `reply`: `{"text":...}` (escaped text with placeholders) or `{"hex":...}` (hex bytes with
//!   placeholders); see [`crate::template`] for `$1`, `${name}`, `${msg}`, `${counter}`, `${time}`.
//! - `encoding`: how trigger and reply texts become bytes, and messages text for a regex:
//!   `"utf-8"` (default), `"gbk"`, `"gb18030"`, `"latin-1"`.
//! - `delay_ms`: wait this long before answering (default 0, at most [`MAX_DELAY_MS`]).
//! - `once`: answer only the first time on each connection (default false: every time).
//! - `checksum`: appended to the reply, e.g. `"crc16_modbus"` (see [`crate::checksum`]).
//!
//! **Rules in passing**, for proxied conversations (`--proxy`): a rule with a `way` watches the
//! messages a proxy relays that way, and only those; a rule without one answers on ordinary
//! conversations as above, never in a proxy (a proxy does not speak for either side). Its
//! `action` says what it does with a message it matches (the first matching rule acts, as
//! above):
//! - `way`: `"client_to_server"` or `"server_to_client"`, as records' ways are named.
//! - `action`: `"reply"` (the default): the reply goes back to the side that sent the message,
//!   which is forwarded too; `"answer"`: the reply goes back to that side *instead* of the
//!   message being forwarded (a stub for one request of a real server); `"drop"`: nothing is
//!   forwarded (the rule has no reply); `"rewrite"`: what the trigger matched is replaced by
//!   the reply, and the message goes on rewritten, at once. What a rewrite replaces: every
//!   occurrence for `contains`, every match for `regex` (its groups are `$1`... in each), the
//!   text for `exact` (its line ending kept), the start for `prefix`, the pattern's bytes for
//!   `hex` (the bytes a final `*` stands for are kept), the whole message for `any`. With a
//!   `checksum`, the message's own (its last bytes) is set aside first: the trigger sees the
//!   rest, and the checksum of the result is appended, computed afresh. A rewrite's or a
//!   drop's message goes on (or not) at once: they take no `delay_ms`. A regex rewrite runs on
//!   the bytes, in `utf-8` only.
//!
//! ```json
//! {"id":"unit-2","way":"client_to_server","action":"rewrite",
//!  "trigger":{"on":"hex","pattern":"01 *"},"reply":{"hex":"02"},"checksum":"crc16_modbus"}
//! ```

use serde::{Deserialize, Serialize};

use crate::checksum::Checksum;
use crate::conn::{ConnId, Origin, Way};
use crate::escape::unescape;
use crate::template::{HexPattern, Part, Template};
use crate::text_encoding::TextEncoding;

/// The longest delay before a reply: an hour.
pub const MAX_DELAY_MS: u32 = 3_600_000;
/// The most rules in one set.
pub const MAX_RULES: usize = 256;
/// The longest rule id.
pub const MAX_ID_LEN: usize = 64;

/// One auto-reply rule. See the module documentation for its JSON form. A field it does not
/// have is refused, naming it: a typo (`delay` for `delay_ms`) must not pass unnoticed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub scope: Scope,
    /// The way of a proxy's messages it watches; `None`: an ordinary conversation's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub way: Option<Way>,
    /// What it does with a message it matches.
    #[serde(default, skip_serializing_if = "Action::is_reply")]
    pub action: Action,
    pub trigger: Trigger,
    /// What it sends, or (`rewrite`) what replaces what the trigger matched. Left out: nothing
    /// (a `drop` rule's).
    #[serde(default)]
    pub reply: ReplyBody,
    #[serde(default)]
    pub encoding: TextEncoding,
    #[serde(default)]
    pub delay_ms: u32,
    #[serde(default)]
    pub once: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

fn enabled() -> bool {
    true
}

/// Which connections a rule answers on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    All,
    /// Peers that connected to the bridge's listener.
    Accepted,
    /// Servers the bridge dialled.
    Dialled,
    /// One connection.
    Conn(ConnId),
}

impl Scope {
    pub fn includes(self, conn: ConnId, origin: Origin) -> bool {
        match self {
            Scope::All => true,
            Scope::Accepted => origin == Origin::Accepted,
            Scope::Dialled => origin == Origin::Dialled,
            Scope::Conn(id) => id == conn,
        }
    }
}

/// What makes a rule answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// The connection opened: a greeting.
    Connect,
    /// Every message.
    Any,
    /// The message is `text`, with or without one trailing line ending.
    Exact { text: String },
    /// The message starts with `text`.
    Prefix { text: String },
    /// The message contains `text`.
    Contains { text: String },
    /// The regex matches the message's text, less one trailing line ending.
    Regex { pattern: String },
    /// The message's bytes match, `??` for any byte, a final `*` for any further bytes.
    Hex { pattern: String },
}

impl Trigger {
    /// The `on` tag, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Connect => "connect",
            Trigger::Any => "any",
            Trigger::Exact { .. } => "exact",
            Trigger::Prefix { .. } => "prefix",
            Trigger::Contains { .. } => "contains",
            Trigger::Regex { .. } => "regex",
            Trigger::Hex { .. } => "hex",
        }
    }
}

/// What a rule sends: `{"text": ...}` or `{"hex": ...}`, templates both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBody {
    Text(String),
    Hex(String),
}

impl Default for ReplyBody {
    /// Nothing: a `drop` rule's.
    fn default() -> ReplyBody {
        ReplyBody::Text(String::new())
    }
}

impl ReplyBody {
    fn is_empty(&self) -> bool {
        match self {
            ReplyBody::Text(t) | ReplyBody::Hex(t) => t.is_empty(),
        }
    }
}

/// What a rule does with a message it matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sends its reply to the message's sender (in a proxy, the message is forwarded too).
    #[default]
    Reply,
    /// A proxy's message goes on with what the trigger matched replaced by the reply.
    Rewrite,
    /// A proxy's message goes no further.
    Drop,
    /// The reply goes back to a proxy's message's sender, and the message goes no further.
    Answer,
}

impl Action {
    pub fn is_reply(&self) -> bool {
        *self == Action::Reply
    }

    /// As the rule's field writes it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Reply => "reply",
            Action::Rewrite => "rewrite",
            Action::Drop => "drop",
            Action::Answer => "answer",
        }
    }
}

/// A trigger, parsed: texts as the bytes they match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    Connect,
    Any,
    Exact(Vec<u8>),
    Prefix(Vec<u8>),
    Contains(Vec<u8>),
    /// The pattern, for the bridge to compile (the `regex` crate lives there, not in the page).
    Regex(String),
    Hex(HexPattern),
}

impl Rule {
    /// A rule with the defaults: enabled, every connection, UTF-8, no delay, every time.
    pub fn new(id: impl Into<String>, trigger: Trigger, reply: ReplyBody) -> Rule {
        Rule {
            id: id.into(),
            name: String::new(),
            enabled: true,
            scope: Scope::All,
            way: None,
            action: Action::Reply,
            trigger,
            reply,
            encoding: TextEncoding::Utf8,
            delay_ms: 0,
            once: false,
            checksum: None,
        }
    }

    /// How errors name the rule: ``rule `idn` (Identify)``.
    pub fn label(&self) -> String {
        let id = if self.id.is_empty() {
            "rule without an id".to_owned()
        } else {
            format!("rule `{}`", self.id)
        };
        if self.name.is_empty() {
            id
        } else {
            format!("{id} ({})", self.name)
        }
    }

    /// Parses the trigger and the reply, and checks everything but a regex's syntax (which the
    /// bridge checks when it compiles the rule). The error names the rule and says what to fix.
    pub fn check(&self) -> Result<(Matcher, Template), String> {
        let fail = |what: String| format!("{}: {what}", self.label());
        if self.id.is_empty() {
            return Err(fail(
                "it has no id: give each rule a short unique one, e.g. `idn`".into(),
            ));
        }
        if self.id.len() > MAX_ID_LEN
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(fail(format!(
                "its id may hold only letters, digits, `-`, `_` and `.` (at most {MAX_ID_LEN})"
            )));
        }
        let text = |text: &str, how: &str| {
            if text.is_empty() {
                return Err(fail(format!(
                    "its `{}` trigger has no text: write what the message must {how}",
                    self.trigger.kind()
                )));
            }
            unescape(text, self.encoding).map_err(|e| fail(format!("its trigger: {e}")))
        };
        let matcher =
            match &self.trigger {
                Trigger::Connect => Matcher::Connect,
                Trigger::Any => Matcher::Any,
                Trigger::Exact { text: t } => Matcher::Exact(text(t, "be")?),
                Trigger::Prefix { text: t } => Matcher::Prefix(text(t, "start with")?),
                Trigger::Contains { text: t } => Matcher::Contains(text(t, "contain")?),
                Trigger::Regex { pattern } if pattern.is_empty() => return Err(fail(
                    "its regex is empty: write a pattern, or use `on = \"any\"` for every message"
                        .into(),
                )),
                Trigger::Regex { pattern } => Matcher::Regex(pattern.clone()),
                Trigger::Hex { pattern } => Matcher::Hex(
                    HexPattern::parse(pattern).map_err(|e| fail(format!("its trigger: {e}")))?,
                ),
            };
        let template = match &self.reply {
            ReplyBody::Text(text) => Template::parse_text(text, self.encoding),
            ReplyBody::Hex(hex) => Template::parse_hex(hex),
        }
        .map_err(|e| fail(format!("its reply: {e}")))?;
        self.check_captures(&matcher, &template).map_err(fail)?;
        self.check_passing(&matcher).map_err(fail)?;
        if self.delay_ms > MAX_DELAY_MS {
            return Err(fail(format!(
                "its delay of {} ms is too long: at most {MAX_DELAY_MS} (an hour)",
                self.delay_ms
            )));
        }
        Ok((matcher, template))
    }

    /// Whether `way` and `action` go together, and with the rest.
    fn check_passing(&self, matcher: &Matcher) -> Result<(), String> {
        let action = self.action.name();
        let Some(way) = self.way else {
            return match self.action {
                Action::Reply => Ok(()),
                _ => Err(format!(
                    "its action `{action}` is for a proxy's messages: give it a `way` \
                     (`client_to_server` or `server_to_client`), the messages it watches"
                )),
            };
        };
        let way = word(way);
        if matches!(matcher, Matcher::Connect) {
            return Err(format!(
                "its way `{way}` watches messages passing, and an on-connect rule has none: \
                 choose another trigger, or leave out `way` for a greeting on ordinary \
                 conversations"
            ));
        }
        if matches!(self.scope, Scope::Accepted | Scope::Dialled) {
            return Err(format!(
                "its way `{way}` watches a proxy's messages, and its scope `{}` picks ordinary \
                 conversations: use scope `all`, or one conversation (`{{ conn = 3 }}`)",
                if self.scope == Scope::Accepted {
                    "accepted"
                } else {
                    "dialled"
                }
            ));
        }
        match self.action {
            Action::Drop if !self.reply.is_empty() => Err(
                "its action `drop` sends nothing: leave out its reply, or use `answer` to \
                 send it back instead of forwarding the message"
                    .into(),
            ),
            Action::Rewrite | Action::Drop if self.delay_ms > 0 => Err(format!(
                "its action `{action}` acts on the message as it passes, at once: leave out \
                 `delay_ms` (a delay is for replies and answers)"
            )),
            Action::Rewrite
                if matches!(matcher, Matcher::Regex(_)) && self.encoding != TextEncoding::Utf8 =>
            {
                Err(format!(
                    "a regex rewrite runs on the message's bytes: its encoding must be `utf-8`, \
                     not `{}` (a `hex` or `contains` rewrite works in any encoding)",
                    word(self.encoding)
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether the reply's placeholders name captures that the trigger makes.
    fn check_captures(&self, matcher: &Matcher, template: &Template) -> Result<(), String> {
        let kind = self.trigger.kind();
        if matches!(matcher, Matcher::Connect) && template.uses_message() {
            return Err(
                "its reply uses `${msg}`, but an on-connect rule has no message to insert".into(),
            );
        }
        let first_capture = template.parts.iter().find_map(|p| match p {
            Part::Group(n) => Some(format!("${n}")),
            Part::Named(name) => Some(format!("${{{name}}}")),
            _ => None,
        });
        match matcher {
            Matcher::Regex(_) => Ok(()), // the bridge checks against the compiled regex
            Matcher::Hex(pattern) => {
                if let Some(name) = template.names().next() {
                    return Err(format!(
                        "its reply uses `${{{name}}}`, but a hex pattern has no named groups: \
                         its `??` runs are `$1`, `$2`, ..."
                    ));
                }
                match template.max_group() {
                    Some(n) if n > pattern.groups.len() => Err(format!(
                        "its reply uses `${n}`, but its hex pattern has {} `??` group{}",
                        pattern.groups.len(),
                        if pattern.groups.len() == 1 { "" } else { "s" }
                    )),
                    _ => Ok(()),
                }
            }
            _ => match first_capture {
                Some(capture) => Err(format!(
                    "its reply uses `{capture}`, but its `{kind}` trigger captures nothing: \
                     use a `regex` or `hex` trigger to capture"
                )),
                None => Ok(()),
            },
        }
    }
}

/// A value as a rule's field writes it: `client_to_server`, `gbk`.
fn word(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Why a rule set does not check: the rule it is about (by id, when it has one), and the reason
/// in words, which names the rule too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub rule: Option<String>,
    pub message: String,
}

impl RuleError {
    /// `message`, about `rule`.
    pub fn of(rule: &Rule, message: String) -> RuleError {
        RuleError {
            rule: (!rule.id.is_empty()).then(|| rule.id.clone()),
            message,
        }
    }
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<RuleError> for String {
    fn from(e: RuleError) -> String {
        e.message
    }
}

/// Checks a whole rule set: every rule, unique ids, at most [`MAX_RULES`].
pub fn validate_rules(rules: &[Rule]) -> Result<(), RuleError> {
    if rules.len() > MAX_RULES {
        return Err(RuleError {
            rule: None,
            message: format!(
                "{} rules are too many: at most {MAX_RULES} in one set",
                rules.len()
            ),
        });
    }
    for (i, rule) in rules.iter().enumerate() {
        rule.check().map_err(|why| RuleError::of(rule, why))?;
        if rules[..i].iter().any(|earlier| earlier.id == rule.id) {
            let why = format!(
                "two rules have the id `{}`: give each rule its own",
                rule.id
            );
            return Err(RuleError::of(rule, why));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(id: &str, text: &str, reply: &str) -> Rule {
        Rule::new(
            id,
            Trigger::Exact { text: text.into() },
            ReplyBody::Text(reply.into()),
        )
    }

    #[test]
    fn the_documented_json_reads_and_writes_back() {
        let json = r#"{"id":"idn","name":"Identify","enabled":true,"scope":"all","trigger":{"on":"exact","text":"*IDN?"},"reply":{"text":"ACME,Model 1000,SN${counter},1.0\\n"},"encoding":"utf-8","delay_ms":0,"once":false}"#;
        let rule: Rule = serde_json::from_str(json).unwrap();
        let mut expected = exact("idn", "*IDN?", "ACME,Model 1000,SN${counter},1.0\\n");
        expected.name = "Identify".into();
        assert_eq!(rule, expected);
        assert_eq!(serde_json::to_string(&rule).unwrap(), json);
    }

    #[test]
    fn only_id_and_trigger_are_required() {
        let rule: Rule = serde_json::from_str(
            r#"{"id":"m","trigger":{"on":"hex","pattern":"01 ??"},"reply":{"hex":"$1"},
                "scope":{"conn":7},"checksum":"crc16_modbus","encoding":"gbk","once":true}"#,
        )
        .unwrap();
        assert!(rule.enabled);
        assert_eq!(rule.scope, Scope::Conn(7));
        assert_eq!(rule.checksum, Some(Checksum::Crc16Modbus));
        assert_eq!(rule.encoding, TextEncoding::Gbk);
        assert!(rule.once);
        assert_eq!(rule.delay_ms, 0);
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(json["scope"], serde_json::json!({"conn": 7}));
        assert_eq!(
            json["trigger"],
            serde_json::json!({"on": "hex", "pattern": "01 ??"})
        );
        assert_eq!(json["reply"], serde_json::json!({"hex": "$1"}));
        let without: Rule = serde_json::from_value(serde_json::json!({
            "id": "c", "trigger": {"on": "connect"}, "reply": {"text": "hi"}
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&without).unwrap().get("checksum"),
            None
        );
    }

    #[test]
    fn a_field_a_rule_does_not_have_is_refused_by_name() {
        let typo = serde_json::from_str::<Rule>(
            r#"{"id":"a","trigger":{"on":"any"},"reply":{"text":"x"},"delay":50}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(typo.starts_with("unknown field `delay`"), "{typo}");
        let in_trigger = serde_json::from_str::<Rule>(
            r#"{"id":"a","trigger":{"on":"exact","txt":"x"},"reply":{"text":"x"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(in_trigger.contains("unknown field `txt`"), "{in_trigger}");
    }

    #[test]
    fn scopes_pick_connections() {
        use Origin::*;
        assert!(Scope::All.includes(1, Accepted) && Scope::All.includes(1, Dialled));
        assert!(Scope::Accepted.includes(1, Accepted) && !Scope::Accepted.includes(1, Dialled));
        assert!(Scope::Dialled.includes(1, Dialled) && !Scope::Dialled.includes(1, Accepted));
        assert!(Scope::Conn(3).includes(3, Dialled) && !Scope::Conn(3).includes(4, Dialled));
        let names: Vec<String> = [Scope::All, Scope::Accepted, Scope::Dialled]
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        assert_eq!(names, ["\"all\"", "\"accepted\"", "\"dialled\""]);
    }

    #[test]
    fn check_parses_triggers_into_bytes() {
        let (matcher, template) = exact("a", "PING\\r\\n", "PONG\\r\\n").check().unwrap();
        assert_eq!(matcher, Matcher::Exact(b"PING\r\n".to_vec()));
        assert_eq!(template.parts, [Part::Bytes(b"PONG\r\n".to_vec())]);
        let mut gbk = exact("b", "你好", "好");
        gbk.encoding = TextEncoding::Gbk;
        assert_eq!(
            gbk.check().unwrap().0,
            Matcher::Exact(vec![0xC4, 0xE3, 0xBA, 0xC3])
        );
        let regex = Rule::new(
            "r",
            Trigger::Regex {
                pattern: "^SET (\\d+)$".into(),
            },
            ReplyBody::Text("$1 ${v}".into()),
        );
        assert_eq!(
            regex.check().unwrap().0,
            Matcher::Regex("^SET (\\d+)$".into())
        );
    }

    #[test]
    fn errors_name_the_rule_and_say_what_to_fix() {
        let error = |rule: Rule| rule.check().unwrap_err();
        let mut named = exact("idn", "", "x");
        named.name = "Identify".into();
        assert_eq!(
            error(named),
            "rule `idn` (Identify): its `exact` trigger has no text: write what the message must be"
        );
        assert!(error(exact("", "a", "b")).starts_with("rule without an id: it has no id"));
        assert!(error(exact("a b", "a", "b")).contains("its id may hold only letters"));
        assert!(error(exact(&"x".repeat(65), "a", "b")).contains("at most 64"));
        assert_eq!(
            error(exact("e", "a", "\\q")),
            "rule `e`: its reply: `\\q` is not an escape: the escapes are \\r \\n \\t \\0 \\\\ \\xHH; write `\\\\` for a backslash"
        );
        assert!(error(exact("e", "\\x1", "b")).starts_with("rule `e`: its trigger: `\\x1`"));
        assert_eq!(
            error(exact("e", "a", "got $1")),
            "rule `e`: its reply uses `$1`, but its `exact` trigger captures nothing: use a `regex` or `hex` trigger to capture"
        );
        let greeting = Rule::new("g", Trigger::Connect, ReplyBody::Text("${msg}".into()));
        assert!(error(greeting).contains("an on-connect rule has no message"));
        let hex = |pattern: &str, reply: &str| {
            Rule::new(
                "h",
                Trigger::Hex {
                    pattern: pattern.into(),
                },
                ReplyBody::Hex(reply.into()),
            )
        };
        assert!(hex("01 ?? 02 ??", "$2").check().is_ok());
        assert_eq!(
            error(hex("01 ?? 02 ??", "$3")),
            "rule `h`: its reply uses `$3`, but its hex pattern has 2 `??` groups"
        );
        assert!(error(hex("01 ??", "${x}")).contains("a hex pattern has no named groups"));
        assert!(error(hex("01 0", "00")).starts_with("rule `h`: its trigger: `0`"));
        assert!(error(hex("01", "0")).starts_with("rule `h`: its reply: `0` has an odd"));
        let empty_regex = Rule::new(
            "r",
            Trigger::Regex {
                pattern: String::new(),
            },
            ReplyBody::Text("x".into()),
        );
        assert!(error(empty_regex).contains("use `on = \"any\"`"));
        let mut slow = exact("s", "a", "b");
        slow.delay_ms = MAX_DELAY_MS + 1;
        assert!(error(slow).contains("at most 3600000 (an hour)"));
        let mut gbk = exact("g", "a", "😀");
        gbk.encoding = TextEncoding::Gbk;
        assert!(error(gbk).contains("`😀` cannot be written in GBK"));
    }

    #[test]
    fn a_set_needs_unique_ids() {
        let rules = [
            exact("a", "1", "x"),
            exact("b", "2", "y"),
            exact("a", "3", "z"),
        ];
        assert_eq!(
            validate_rules(&rules),
            Err(RuleError {
                rule: Some("a".into()),
                message: "two rules have the id `a`: give each rule its own".into()
            })
        );
        assert_eq!(validate_rules(&rules[..2]), Ok(()));
        let empty = validate_rules(&[exact("e", "", "x")]).unwrap_err();
        assert_eq!(empty.rule.as_deref(), Some("e"), "the error names its rule");
        let many: Vec<Rule> = (0..=MAX_RULES)
            .map(|i| exact(&i.to_string(), "x", "y"))
            .collect();
        let too_many = validate_rules(&many).unwrap_err();
        assert!(too_many.message.contains("at most 256"));
        assert_eq!(too_many.rule, None, "no rule in particular");
    }

    fn passing(id: &str, way: Way, action: Action, trigger: Trigger, reply: ReplyBody) -> Rule {
        Rule {
            way: Some(way),
            action,
            ..Rule::new(id, trigger, reply)
        }
    }

    #[test]
    fn the_documented_passing_rule_reads_and_writes_back() {
        let doc = include_str!("rules.rs")
            .split("//! ```json\n")
            .nth(2)
            .and_then(|rest| rest.split("//! ```\n").next())
            .unwrap()
            .lines()
            .map(|l| l.trim_start_matches("//!").trim())
            .collect::<String>();
        let rule: Rule = serde_json::from_str(&doc).unwrap();
        assert_eq!(rule.way, Some(Way::ClientToServer));
        assert_eq!(rule.action, Action::Rewrite);
        assert_eq!(rule.checksum, Some(Checksum::Crc16Modbus));
        rule.check().unwrap();
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(json["way"], "client_to_server");
        assert_eq!(json["action"], "rewrite");
        // Today's rules write neither field: a page or file that knows nothing of them reads
        // them as before.
        let today = serde_json::to_value(exact("a", "x", "y")).unwrap();
        assert_eq!((today.get("way"), today.get("action")), (None, None));
        let drop: Rule = serde_json::from_str(
            r#"{"id":"d","way":"server_to_client","action":"drop","trigger":{"on":"any"}}"#,
        )
        .unwrap();
        assert_eq!(drop.reply, ReplyBody::Text(String::new()));
        drop.check().unwrap();
        let typo = serde_json::from_str::<Rule>(
            r#"{"id":"d","way":"client_to_sever","trigger":{"on":"any"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(typo.contains("unknown variant `client_to_sever`"), "{typo}");
        let action =
            serde_json::from_str::<Rule>(r#"{"id":"d","action":"forward","trigger":{"on":"any"}}"#)
                .unwrap_err()
                .to_string();
        assert!(
            action.contains("expected one of `reply`, `rewrite`, `drop`, `answer`"),
            "{action}"
        );
    }

    #[test]
    fn passing_rules_refuse_what_does_not_go_together() {
        use Way::*;
        let error = |rule: Rule| rule.check().unwrap_err();
        let any = || Trigger::Any;
        let text = |t: &str| ReplyBody::Text(t.into());
        let mut no_way = passing("n", ClientToServer, Action::Drop, any(), text(""));
        no_way.way = None;
        assert_eq!(
            error(no_way),
            "rule `n`: its action `drop` is for a proxy's messages: give it a `way` \
             (`client_to_server` or `server_to_client`), the messages it watches"
        );
        let greeting = passing(
            "g",
            ServerToClient,
            Action::Reply,
            Trigger::Connect,
            text("hi"),
        );
        assert!(error(greeting)
            .starts_with("rule `g`: its way `server_to_client` watches messages passing"));
        let mut accepted = passing("s", ClientToServer, Action::Answer, any(), text("x"));
        accepted.scope = Scope::Accepted;
        assert!(error(accepted).contains("its scope `accepted` picks ordinary conversations"));
        let mut one = passing("s", ClientToServer, Action::Answer, any(), text("x"));
        one.scope = Scope::Conn(4);
        assert!(one.check().is_ok());
        assert!(
            error(passing("d", ClientToServer, Action::Drop, any(), text("x")))
                .contains("its action `drop` sends nothing: leave out its reply")
        );
        let mut late = passing("r", ClientToServer, Action::Rewrite, any(), text("x"));
        late.delay_ms = 10;
        assert!(error(late).contains("its action `rewrite` acts on the message as it passes"));
        let mut answer_late = passing("a", ClientToServer, Action::Answer, any(), text("x"));
        answer_late.delay_ms = 10;
        assert!(answer_late.check().is_ok(), "an answer may wait");
        let regex = || Trigger::Regex {
            pattern: "(\\d+)".into(),
        };
        let mut gbk = passing("g", ClientToServer, Action::Rewrite, regex(), text("<$1>"));
        gbk.encoding = TextEncoding::Gbk;
        assert!(error(gbk).contains("its encoding must be `utf-8`, not `gbk`"));
        assert!(
            passing("r", ServerToClient, Action::Rewrite, regex(), text("<$1>"))
                .check()
                .is_ok()
        );
        // Captures are checked as for replies.
        let hex = Trigger::Hex {
            pattern: "01 ?? *".into(),
        };
        let two = passing(
            "h",
            ClientToServer,
            Action::Rewrite,
            hex,
            ReplyBody::Hex("$2".into()),
        );
        assert!(error(two).contains("its hex pattern has 1 `??` group"));
    }
}
