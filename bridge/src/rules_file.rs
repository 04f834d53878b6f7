//! The rules file (`--rules FILE`): a device to stand in for, written in TOML. It holds the
//! framing for the bridge's connections (optional) and the auto-reply rules, the same typed
//! [`Rule`]s that the page edits; [`to_toml`] writes them back in the same form.
//!
//! ```toml
//! # A line-based instrument.
//! framing = { mode = "delimiter", delimiter = "lf" }   # see protocol::framing
//!
//! [[rule]]
//! id = "greeting"                     # short and unique; errors and counters name it
//! trigger = { on = "connect" }        # when a connection opens
//! reply = { text = 'READY\r\n' }
//!
//! [[rule]]
//! id = "idn"
//! name = "Identify"                   # for people (optional)
//! trigger = { on = "regex", pattern = '(?i)^\*IDN\?$' }
//! reply = { text = 'ACME,DMM-1000,SN${counter},1.0\n' }
//! delay_ms = 50                       # answer after 50 ms (default 0)
//!
//! [[rule]]
//! id = "read"
//! scope = "accepted"                  # "all" (default), "accepted", "dialled", { conn = 3 }
//! trigger = { on = "hex", pattern = "01 03 ?? ?? 00 02 ?? ??" }
//! reply = { hex = "01 03 04 ${counter:u16} 00 2a" }
//! checksum = "crc16_modbus"           # appended to the reply
//! once = false                        # true: only the first time on each connection
//! enabled = true                      # false: kept, but never answers
//! encoding = "utf-8"                  # "gbk", "gb18030", "latin-1": for text triggers and replies
//! ```
//!
//! **In a proxy** (`--proxy`), these rules do not apply: a proxy speaks for neither side. A
//! rule with a `way` watches the messages it relays that way instead, and its `action` says
//! what to do with one it matches: `reply` (the default: the reply goes back to the sender, and
//! the message goes on), `answer` (the reply goes back *instead*: a stub for one request of a
//! real server), `drop` (it goes no further; no reply), or `rewrite` (it goes on with what the
//! trigger matched replaced by the reply):
//!
//! ```toml
//! [[rule]]
//! id = "to-unit-2"
//! way = "client_to_server"            # or "server_to_client": the messages it watches
//! action = "rewrite"                  # "reply" (default), "answer", "drop", "rewrite"
//! trigger = { on = "hex", pattern = "01 *" }     # the pattern's bytes are replaced...
//! reply = { hex = "02" }              # ...by these; what `*` stands for stays
//! checksum = "crc16_modbus"           # the message's own is set aside, then computed afresh
//!
//! [[rule]]
//! id = "version"
//! way = "client_to_server"
//! action = "answer"                   # the server never sees it
//! trigger = { on = "exact", text = 'VERSION?' }
//! reply = { text = 'v9.9 (stub)\n' }
//! ```
//!
//! A `regex` rewrite replaces every match (its groups are `$1`... in each), `contains` every
//! occurrence, `exact` the text (its line ending stays), `prefix` the start, `any` the whole
//! message. With `--rules FILE --proxy LISTEN=TARGET` the bridge is a rewriting proxy with no
//! page open.
//!
//! Triggers are `connect`, `any`, `exact`/`prefix`/`contains` (with `text`), `regex` and `hex`
//! (with `pattern`); [`protocol::rules`] says what each matches and [`protocol::template`] what
//! a reply may hold. Write texts and patterns in **single quotes**, TOML's literal strings, so
//! that `\r`, `\n`, `\x02` and a regex's `\d` reach the rule as written (in double quotes TOML
//! reads backslashes itself, and refuses `\x02`).
//!
//! Every mistake is reported with its line: TOML syntax, an unknown key (a typo such as
//! `delay` for `delay_ms`), a value of the wrong kind, and anything the rule itself gets wrong,
//! regexes included.

use protocol::framing::Framing;
use protocol::rules::{validate_rules, ReplyBody, Rule, Trigger, MAX_RULES};
use protocol::ServerInfo;
use serde::{Deserialize, Serialize};
use toml_edit::{ArrayOfTables, DocumentMut, Item, TableLike, Value};

use crate::rules::RuleSet;

/// What a rules file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesFile {
    /// The framing for the bridge's connections, if the file sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<Framing>,
    /// The rules, in order (the first that matches answers). `[[rule]]` in the file.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

impl RulesFile {
    /// What the bridge has in force, as a rules file: the rules, and the framing new
    /// connections get unless it is raw (the default). Downloaded as `rules.toml`, and what
    /// `save_rules` writes.
    pub fn in_force(server: &ServerInfo) -> RulesFile {
        let framing = &server.defaults.framing;
        RulesFile {
            framing: (*framing != Framing::Raw).then(|| framing.clone()),
            rules: server.rules.clone(),
        }
    }
}

/// Where something starts and ends in the file's text.
type Span = Option<std::ops::Range<usize>>;
/// Says `line N: ` for a span.
type LineOf<'a> = &'a dyn Fn(Span) -> String;

/// The keys each table may hold, to catch typos that serde would ignore.
const FILE_KEYS: &[&str] = &["framing", "rule"];
const FRAMING_KEYS: &[&str] = &[
    "mode",
    "delimiter",
    "len",
    "width",
    "big_endian",
    "offset",
    "includes_header",
    "trailer",
    "gap_ms",
];
const RULE_KEYS: &[&str] = &[
    "id", "name", "enabled", "scope", "way", "action", "trigger", "reply", "encoding", "delay_ms",
    "once", "checksum",
];
const SCOPE_KEYS: &[&str] = &["conn"];
const TRIGGER_KEYS: &[&str] = &["on", "text", "pattern"];
const REPLY_KEYS: &[&str] = &["text", "hex"];

/// Reads a rules file, and checks everything the bridge would: the framing, every rule
/// (regexes compiled), unique ids. Errors say on which line, and what to fix.
pub fn parse_rules_file(text: &str) -> Result<RulesFile, String> {
    let doc = toml_edit::Document::parse(text.to_owned()).map_err(|e| e.to_string())?;
    let line = |span: Span| {
        span.map(|s| format!("line {}: ", text[..s.start].matches('\n').count() + 1))
            .unwrap_or_default()
    };
    check_keys(doc.as_table(), "the file", FILE_KEYS, &line)?;
    if let Some(framing) = doc.get("framing") {
        let table = framing.as_table_like().ok_or_else(|| {
            format!(
                "{}`framing` must be a table: write e.g. \
                 `framing = {{ mode = \"delimiter\", delimiter = \"lf\" }}`",
                line(framing.span())
            )
        })?;
        check_keys(table, "`framing`", FRAMING_KEYS, &line)?;
    }
    let rule_tables = rule_tables(doc.get("rule"), &line)?;
    for (table, _) in &rule_tables {
        let what = match table.get("id").and_then(Item::as_str) {
            Some(id) => format!("rule `{id}`"),
            None => "a rule".to_owned(),
        };
        check_keys(*table, &what, RULE_KEYS, &line)?;
        for (key, keys) in [
            ("scope", SCOPE_KEYS),
            ("trigger", TRIGGER_KEYS),
            ("reply", REPLY_KEYS),
        ] {
            if let Some(nested) = table.get(key).and_then(Item::as_table_like) {
                check_keys(nested, &format!("the {key} of {what}"), keys, &line)?;
            }
        }
    }
    let spans: Vec<_> = rule_tables.iter().map(|(_, span)| span.clone()).collect();
    let framing_span = doc.get("framing").and_then(Item::span);

    let file: RulesFile = toml_edit::de::from_document(doc).map_err(|e| e.to_string())?;
    if let Some(framing) = &file.framing {
        framing
            .validate()
            .map_err(|e| format!("{}framing: {e}", line(framing_span)))?;
    }
    if file.rules.len() > MAX_RULES {
        // Refused before any regex is compiled, as a page's set is.
        validate_rules(&file.rules)?;
    }
    for (i, rule) in file.rules.iter().enumerate() {
        let at = line(spans.get(i).cloned().flatten());
        RuleSet::compile(std::slice::from_ref(rule)).map_err(|e| format!("{at}{e}"))?;
        if file.rules[..i].iter().any(|earlier| earlier.id == rule.id) {
            return Err(format!(
                "{at}a second rule has the id `{}`: give each rule its own",
                rule.id
            ));
        }
    }
    validate_rules(&file.rules)?;
    Ok(file)
}

/// The `[[rule]]` tables (or `rule = [{...}]`), each with where it starts.
fn rule_tables<'a>(
    item: Option<&'a Item>,
    line: LineOf,
) -> Result<Vec<(&'a dyn TableLike, Span)>, String> {
    let not_a_rule = |span| {
        format!(
            "{}write each rule as a `[[rule]]` table (two brackets), with id, trigger and reply",
            line(span)
        )
    };
    match item {
        None => Ok(Vec::new()),
        Some(Item::ArrayOfTables(tables)) => Ok(tables
            .iter()
            .map(|t| (t as &dyn TableLike, t.span()))
            .collect()),
        Some(Item::Value(Value::Array(values))) => values
            .iter()
            .map(|v| match v.as_inline_table() {
                Some(t) => Ok((t as &dyn TableLike, t.span())),
                None => Err(not_a_rule(v.span())),
            })
            .collect(),
        Some(other) => Err(not_a_rule(other.span())),
    }
}

/// An error for the first key of `table` that is not in `known`.
fn check_keys(
    table: &dyn TableLike,
    what: &str,
    known: &[&str],
    line: LineOf,
) -> Result<(), String> {
    for (key, _) in table.iter() {
        if known.contains(&key) {
            continue;
        }
        let span = table.get_key_value(key).and_then(|(k, _)| k.span());
        let hint = match known.iter().find(|k| similar(k, key)) {
            Some(k) => format!("did you mean `{k}`? "),
            None => String::new(),
        };
        return Err(format!(
            "{}{what} has an unknown key `{key}`: {hint}the keys are {}",
            line(span),
            known.join(", ")
        ));
    }
    Ok(())
}

/// Whether `typed` is probably a misspelling of `key`: one contains the other, or they are at
/// most two edits apart.
fn similar(key: &str, typed: &str) -> bool {
    let (key, typed) = (key.to_ascii_lowercase(), typed.to_ascii_lowercase());
    if key.contains(&typed) || typed.contains(&key) {
        return true;
    }
    // Levenshtein distance, one row at a time.
    let typed: Vec<char> = typed.chars().collect();
    let mut row: Vec<usize> = (0..=typed.len()).collect();
    for (i, k) in key.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &t) in typed.iter().enumerate() {
            let substitution = previous + usize::from(k != t);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[typed.len()] <= 2
}

/// Writes a rules file that [`parse_rules_file`] reads back as the same rules: the framing
/// on one line, then one `[[rule]]` table per rule, leaving out what is at its default.
pub fn to_toml(file: &RulesFile) -> String {
    let mut doc: DocumentMut = toml_edit::ser::to_document(file).expect("rules always serialize");
    // What a rule with every default looks like, to leave those keys out.
    let defaults = toml_edit::ser::to_document(&RulesFile {
        framing: None,
        rules: vec![Rule::new("", Trigger::Any, ReplyBody::Text(String::new()))],
    })
    .expect("rules always serialize");
    let default = defaults["rule"]
        .as_array()
        .and_then(|rules| rules.get(0))
        .and_then(Value::as_inline_table)
        .expect("one rule")
        .clone();

    let mut tables = ArrayOfTables::new();
    if let Some(Ok(Value::Array(rules))) = doc.remove("rule").map(Item::into_value) {
        for rule in rules {
            let Value::InlineTable(rule) = rule else {
                continue;
            };
            let mut table = rule.into_table();
            // A drop rule sends nothing: its empty reply is left out too.
            let drops = table.get("action").and_then(Item::as_str) == Some("drop");
            for (key, value) in default.iter() {
                let same = table
                    .get(key)
                    .and_then(Item::as_value)
                    .is_some_and(|v| v.to_string().trim() == value.to_string().trim());
                let kept = ["id", "trigger"].contains(&key) || (key == "reply" && !drops);
                if same && !kept {
                    table.remove(key);
                }
            }
            for (mut key, _) in table.iter_mut() {
                key.leaf_decor_mut().clear();
            }
            table.decor_mut().set_prefix("\n");
            tables.push(table);
        }
    }
    if !tables.is_empty() {
        doc.insert("rule", Item::ArrayOfTables(tables));
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::checksum::Checksum;
    use protocol::framing::Delimiter;
    use protocol::rules::{Action, Scope};
    use protocol::text_encoding::TextEncoding;
    use protocol::Origin;
    use protocol::Way;
    use std::time::{Duration, Instant};

    use crate::framer::Framer;
    use crate::rules::{Answer, Responder};

    const ECHO: &str = include_str!("../../examples/echo-device.toml");
    const SCPI: &str = include_str!("../../examples/scpi-device.toml");
    const MODBUS: &str = include_str!("../../examples/modbus-like.toml");
    const PROXY: &str = include_str!("../../examples/modbus-proxy.toml");

    #[test]
    fn the_documented_example_parses() {
        let in_passing = include_str!("rules_file.rs")
            .split("//! ```toml\n")
            .nth(2)
            .and_then(|rest| rest.split("//! ```\n").next())
            .unwrap()
            .lines()
            .map(|l| {
                l.strip_prefix("//! ")
                    .unwrap_or(l.trim_start_matches("//!"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let file = parse_rules_file(&in_passing).unwrap();
        assert_eq!(file.rules[0].action, Action::Rewrite);
        assert_eq!(file.rules[1].way, Some(Way::ClientToServer));
        let doc = include_str!("rules_file.rs")
            .split("//! ```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("//! ```\n").next())
            .unwrap()
            .lines()
            .map(|l| {
                l.strip_prefix("//! ")
                    .unwrap_or(l.trim_start_matches("//!"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let file = parse_rules_file(&doc).unwrap();
        assert_eq!(
            file.framing,
            Some(Framing::Delimiter {
                delimiter: Delimiter::lf()
            })
        );
        assert_eq!(file.rules.len(), 3);
        let read = &file.rules[2];
        assert_eq!(read.scope, Scope::Accepted);
        assert_eq!(read.checksum, Some(Checksum::Crc16Modbus));
        assert_eq!(file.rules[1].delay_ms, 50);
        assert_eq!(file.rules[1].name, "Identify");
    }

    #[test]
    fn an_empty_file_has_no_rules() {
        assert_eq!(parse_rules_file("").unwrap(), RulesFile::default());
        assert_eq!(
            parse_rules_file("# nothing yet\n").unwrap(),
            RulesFile::default()
        );
    }

    #[test]
    fn rules_written_out_read_back_the_same() {
        let mut full = Rule::new(
            "every-field",
            Trigger::Regex {
                pattern: r#"^SET (?<v>\d+) 'q' "d"$"#.into(),
            },
            ReplyBody::Text(r"OK ${v}\r\n".into()),
        );
        full.name = "Every field set".into();
        full.enabled = false;
        full.scope = Scope::Conn(12);
        full.encoding = TextEncoding::Gbk;
        full.delay_ms = 1500;
        full.once = true;
        full.checksum = Some(Checksum::Lrc);
        let file = RulesFile {
            framing: Some(Framing::LengthPrefixed {
                width: 2,
                big_endian: false,
                offset: 1,
                includes_header: true,
                trailer: 2,
            }),
            rules: vec![
                Rule::new("hello", Trigger::Connect, ReplyBody::Text("hi\\n".into())),
                full,
                Rule::new(
                    "hex",
                    Trigger::Hex {
                        pattern: "01 ?? *".into(),
                    },
                    ReplyBody::Hex("81 $1".into()),
                ),
            ],
        };
        let text = to_toml(&file);
        assert_eq!(parse_rules_file(&text).unwrap(), file, "{text}");
        // Defaults are left out, and each rule is a readable table.
        assert!(
            text.starts_with("framing = { mode = \"length_prefixed\""),
            "{text}"
        );
        assert!(
            text.contains(
                "\n[[rule]]\nid = \"hello\"\ntrigger = { on = \"connect\" }\nreply = { text = 'hi\\n' }\n"
            ),
            "{text}"
        );
        assert!(text.contains("scope = { conn = 12 }\n"), "{text}");
        assert!(text.contains("enabled = false\n"), "{text}");
        assert!(!text.contains("enabled = true"), "{text}");
        assert!(!text.contains("delay_ms = 0"), "{text}");

        // The examples survive the round trip too.
        let drop = Rule {
            way: Some(Way::ServerToClient),
            action: Action::Drop,
            ..Rule::new("quiet", Trigger::Any, ReplyBody::default())
        };
        let passing = RulesFile {
            framing: None,
            rules: vec![drop],
        };
        let text = to_toml(&passing);
        assert_eq!(
            text,
            "\n[[rule]]\nid = \"quiet\"\nway = \"server_to_client\"\naction = \"drop\"\n\
             trigger = { on = \"any\" }\n"
        );
        assert_eq!(parse_rules_file(&text).unwrap(), passing);

        for example in [ECHO, SCPI, MODBUS, PROXY] {
            let file = parse_rules_file(example).unwrap();
            assert_eq!(parse_rules_file(&to_toml(&file)).unwrap(), file);
        }
        assert_eq!(to_toml(&RulesFile::default()), "");
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        let error = |text: &str| parse_rules_file(text).unwrap_err();
        let rule = |body: &str| format!("# a comment\n\n[[rule]]\n{body}\n");

        let syntax = error("[[rule]]\nid = idn\n");
        assert!(syntax.contains("line 2"), "{syntax}");

        let typo = error(&rule(
            "id = 'a'\ntrigger = { on = 'any' }\nreply = { text = 'x' }\ndelay = 5",
        ));
        assert_eq!(
            typo,
            "line 7: rule `a` has an unknown key `delay`: did you mean `delay_ms`? the keys are \
             id, name, enabled, scope, way, action, trigger, reply, encoding, delay_ms, once, checksum"
        );
        let nested = error(&rule(
            "id = 'a'\ntrigger = { on = 'exact', txt = 'x' }\nreply = { text = 'x' }",
        ));
        assert!(
            nested.starts_with(
                "line 5: the trigger of rule `a` has an unknown key `txt`: did you mean `text`?"
            ),
            "{nested}"
        );
        let top = error("framin = { mode = 'raw' }\n");
        assert!(
            top.starts_with(
                "line 1: the file has an unknown key `framin`: did you mean `framing`?"
            ),
            "{top}"
        );
        let framing_key = error("framing = { mode = 'fixed', length = 4 }\n");
        assert!(framing_key.contains("did you mean `len`?"), "{framing_key}");

        let kind = error(&rule(
            "id = 'a'\ntrigger = { on = 'sometimes' }\nreply = { text = 'x' }",
        ));
        assert!(
            kind.contains("line 5") && kind.contains("unknown variant `sometimes`"),
            "{kind}"
        );
        let missing = error(&rule("id = 'a'\nreply = { text = 'x' }"));
        assert!(missing.contains("missing field `trigger`"), "{missing}");
        let way = error(&rule(
            "id = 'a'\nway = 'upstream'\ntrigger = { on = 'any' }\naction = 'drop'",
        ));
        assert!(
            way.contains(
                "unknown variant `upstream`, expected `client_to_server` or `server_to_client`"
            ),
            "{way}"
        );
        let no_way = error(&rule("id = 'a'\ntrigger = { on = 'any' }\naction = 'drop'"));
        assert!(
            no_way.starts_with(
                "line 3: rule `a`: its action `drop` is for a proxy's messages: give it a `way`"
            ),
            "{no_way}"
        );

        let bad_reply = error(&rule(
            "id = 'a'\ntrigger = { on = 'any' }\nreply = { text = 'x\\q' }",
        ));
        assert!(
            bad_reply.starts_with("line 3: rule `a`: its reply: `\\q` is not an escape"),
            "{bad_reply}"
        );
        let bad_regex = error(&format!(
            "[[rule]]\nid = 'ok'\ntrigger = {{ on = 'any' }}\nreply = {{ text = 'x' }}\n\n{}",
            rule("id = 'r'\ntrigger = { on = 'regex', pattern = '(' }\nreply = { text = 'x' }")
        ));
        assert!(
            bad_regex.starts_with("line 8: rule `r`: its regex does not compile"),
            "{bad_regex}"
        );
        let twice = error(&format!(
            "{}{}",
            rule("id = 'a'\ntrigger = { on = 'any' }\nreply = { text = 'x' }"),
            rule("id = 'a'\ntrigger = { on = 'any' }\nreply = { text = 'y' }")
        ));
        assert_eq!(
            twice,
            "line 9: a second rule has the id `a`: give each rule its own"
        );
        let framing = error("\nframing = { mode = 'length_prefixed', width = 3 }\n");
        assert_eq!(
            framing,
            "line 2: framing: a length field of 3 bytes is not supported: use 1, 2 or 4"
        );
        let single = error("[rule]\nid = 'a'\n");
        assert!(
            single.contains("`[[rule]]` table (two brackets)"),
            "{single}"
        );
        let inline = parse_rules_file(
            "rule = [{ id = 'a', trigger = { on = 'any' }, reply = { text = 'x' } }]\n",
        )
        .unwrap();
        assert_eq!(inline.rules.len(), 1);
        let not_a_table = error("framing = 'lf'\n");
        assert!(
            not_a_table.contains("`framing` must be a table"),
            "{not_a_table}"
        );
    }

    #[test]
    fn the_known_keys_are_those_the_types_write() {
        // Every key that serializing writes is one the file may hold.
        let mut full = Rule::new("a", Trigger::Any, ReplyBody::Text("x".into()));
        full.scope = Scope::Conn(1);
        full.way = Some(Way::ClientToServer);
        full.action = Action::Answer;
        full.checksum = Some(Checksum::Sum8);
        let framings = [
            Framing::Raw,
            Framing::Delimiter {
                delimiter: Delimiter::lf(),
            },
            Framing::Fixed { len: 1 },
            Framing::LengthPrefixed {
                width: 1,
                big_endian: true,
                offset: 0,
                includes_header: false,
                trailer: 0,
            },
            Framing::Idle { gap_ms: 1 },
        ];
        let keys = |value: serde_json::Value| -> Vec<String> {
            value.as_object().unwrap().keys().cloned().collect()
        };
        for framing in framings {
            for key in keys(serde_json::to_value(&framing).unwrap()) {
                assert!(FRAMING_KEYS.contains(&key.as_str()), "{key}");
            }
        }
        let json = serde_json::to_value(&full).unwrap();
        let sorted = |keys: &[&str]| {
            let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(json.clone()), sorted(RULE_KEYS));
        assert_eq!(keys(json["scope"].clone()), sorted(SCOPE_KEYS));
        for trigger in [
            Trigger::Exact { text: "x".into() },
            Trigger::Regex {
                pattern: "x".into(),
            },
        ] {
            for key in keys(serde_json::to_value(&trigger).unwrap()) {
                assert!(TRIGGER_KEYS.contains(&key.as_str()), "{key}");
            }
        }
        for reply in [ReplyBody::Text("x".into()), ReplyBody::Hex("00".into())] {
            for key in keys(serde_json::to_value(&reply).unwrap()) {
                assert!(REPLY_KEYS.contains(&key.as_str()), "{key}");
            }
        }
    }

    #[test]
    fn typos_are_told_from_other_words() {
        assert!(similar("delay_ms", "delay"));
        assert!(similar("trigger", "triger"));
        assert!(similar("checksum", "chekcsum"));
        assert!(!similar("reply", "colour"));
        assert!(!similar("id", "xyz"));
    }

    /// What a device described by `file` answers to `input`, one read, after framing.
    fn device_answers(file: &RulesFile, input: &[u8], origin: Origin) -> Vec<Vec<u8>> {
        let rules = RuleSet::compile(&file.rules).unwrap();
        let start = Instant::now();
        let mut framer = Framer::new(file.framing.clone().unwrap_or_default()).unwrap();
        let mut responder = Responder::new(1, origin, start);
        let clock = || "2026-11-24T21:00:00+01:00".to_owned();
        let mut answers = Vec::new();
        let mut answer = |a: Answer| match a {
            Answer::Reply(reply) => answers.push(reply.bytes),
            Answer::Nothing => {}
            limited => panic!("{limited:?}"),
        };
        answer(responder.on_connect(&rules, start, &clock));
        let mut frames = framer.push(input, start);
        frames.extend(framer.poll_idle(start + Duration::from_secs(1)));
        for frame in frames.iter().filter(|f| f.is_whole()) {
            answer(responder.on_message(&rules, &frame.bytes, start, &clock));
        }
        answers
    }

    #[test]
    fn the_echo_device_answers_every_message_with_itself() {
        let file = parse_rules_file(ECHO).unwrap();
        assert_eq!(
            device_answers(&file, b"hello\n", Origin::Accepted),
            [b"hello\n".to_vec()]
        );
        // The tutorial's client sends its text with no line ending.
        assert_eq!(
            device_answers(&file, "你好".as_bytes(), Origin::Accepted),
            ["你好".as_bytes().to_vec()]
        );
    }

    #[test]
    fn the_scpi_device_greets_identifies_and_measures() {
        let file = parse_rules_file(SCPI).unwrap();
        let answers = device_answers(
            &file,
            b"*IDN?\nMEAS:VOLT?\nmeas:volt?\nSYST:ERR?\nFOO\n",
            Origin::Accepted,
        );
        let answers: Vec<String> = answers
            .into_iter()
            .map(|a| String::from_utf8(a).unwrap())
            .collect();
        assert_eq!(
            answers,
            [
                "ACME Instruments DMM-1000 ready\n",
                "ACME Instruments,DMM-1000,SN0001,1.0.3\n",
                "+1.000E-03\n",
                "+2.000E-03\n",
                "0,\"No error\"\n",
                "-113,\"Undefined header\"\n",
            ]
        );
    }

    #[test]
    fn the_modbus_like_device_answers_reads_and_writes() {
        let file = parse_rules_file(MODBUS).unwrap();
        let mut request = vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x02];
        Checksum::Crc16Modbus.append(&mut request);
        assert_eq!(
            request[6..],
            [0xC4, 0x0B],
            "the request in the file's comment"
        );
        let answers = device_answers(&file, &request, Origin::Accepted);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0][..7], [0x01, 0x03, 0x04, 0x00, 0x01, 0x00, 0x2A]);
        assert_eq!(Checksum::Crc16Modbus.verify(&answers[0]), Some(true));

        // Reading another number of registers: an exception, "illegal data address".
        let mut three = vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x03];
        Checksum::Crc16Modbus.append(&mut three);
        let answers = device_answers(&file, &three, Origin::Accepted);
        assert_eq!(answers[0][..3], [0x01, 0x83, 0x02]);
        assert_eq!(Checksum::Crc16Modbus.verify(&answers[0]), Some(true));

        // Writing a register: the request echoed.
        let mut write = vec![0x01, 0x06, 0x00, 0x01, 0x00, 0x03];
        Checksum::Crc16Modbus.append(&mut write);
        assert_eq!(
            device_answers(&file, &write, Origin::Accepted),
            [write.clone()]
        );

        // Another slave's request: silence, as on a real bus.
        let mut other = vec![0x02, 0x03, 0x00, 0x00, 0x00, 0x02];
        Checksum::Crc16Modbus.append(&mut other);
        assert!(device_answers(&file, &other, Origin::Accepted).is_empty());
    }

    #[test]
    fn the_modbus_proxy_rewrites_stubs_and_drops_as_its_comments_say() {
        let file = parse_rules_file(PROXY).unwrap();
        let rules = RuleSet::compile(&file.rules).unwrap();
        let start = Instant::now();
        let clock = || String::new();
        let mut up = Responder::new(1, Origin::Accepted, start).watching(Way::ClientToServer);
        let mut down = Responder::new(1, Origin::Accepted, start).watching(Way::ServerToClient);
        let crc = |bytes: &[u8]| {
            let mut bytes = bytes.to_vec();
            Checksum::Crc16Modbus.append(&mut bytes);
            bytes
        };
        let request = crc(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x02]);
        assert_eq!(
            request[6..],
            [0xC4, 0x0B],
            "the request in the file's comment"
        );
        let Answer::Rewrite(read) = up.on_message(&rules, &request, start, &clock) else {
            panic!("a read of register 0 is rewritten");
        };
        assert_eq!(read.bytes, crc(&[0x01, 0x03, 0x00, 0x05, 0x00, 0x02]));
        let write = crc(&[0x01, 0x06, 0x00, 0x01, 0x00, 0x03]);
        let Answer::Instead(stub) = up.on_message(&rules, &write, start, &clock) else {
            panic!("a write is answered by the proxy");
        };
        assert_eq!(stub.bytes, write);
        let slave_9 = crc(&[0x09, 0x03, 0x00, 0x00, 0x00, 0x02]);
        assert!(matches!(
            up.on_message(&rules, &slave_9, start, &clock),
            Answer::Drop { .. }
        ));
        let exception = crc(&[0x01, 0x83, 0x02]);
        let Answer::Rewrite(tagged) = down.on_message(&rules, &exception, start, &clock) else {
            panic!("the device's exception is rewritten on its way back");
        };
        assert_eq!(tagged.bytes, crc(&[0x01, 0x84, 0x02]));
        // The same bytes going the other way are not these rules' business.
        assert_eq!(
            down.on_message(&rules, &request, start, &clock),
            Answer::Nothing
        );
        // Nor are an ordinary conversation's messages.
        let mut ordinary = Responder::new(1, Origin::Accepted, start);
        assert_eq!(
            ordinary.on_message(&rules, &request, start, &clock),
            Answer::Nothing
        );
    }
}
