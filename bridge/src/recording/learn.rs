//! `bridge learn`: a rules file that makes `bridge --rules` answer as a recorded server (or
//! device) answered.
//!
//! The recorded server is the side that did not connect (see [`Conversation::from_client`]):
//! each message it received is paired with what it sent back before the next one, as the
//! server had them ([`Conversation::server_side`]: a held message a page dropped on its way to
//! it never reached it, and what it said is learnt as it said it, before any edit), and what it
//! sent before the first becomes a greeting (`on = "connect"`). A request seen more than once
//! with the same reply is learnt once. When the replies differ, it generalises: a trailing
//! checksum that every reply ends with (any of the six) is appended rather than copied, a field
//! that counts 1, 2, 3... with each time the request was asked on a connection becomes
//! `${counter}` of its width (`${counter:u16}`, or decimal in text), bytes that echo what
//! varies in the request become its capture (`$1`); binary requests of one length that differ
//! in a few bytes are learnt as one, those bytes `??`. Where it cannot generalise, it writes
//! the exact pairs in the order recorded, each answering once but the last, and says so in a
//! comment.

use std::fmt::Write as _;

use protocol::checksum::Checksum;

use super::Conversation;
use crate::rules_file::{parse_rules_file, RulesFile};

/// One request and what was sent back before the next, with how many times this request had
/// been asked on its connection, this one included.
#[derive(Clone, Debug)]
struct Pair {
    conn: usize,
    request: Vec<u8>,
    reply: Vec<u8>,
}

/// Requests learnt as one rule, in the order recorded.
#[derive(Debug)]
struct Group {
    /// The request's bytes, `None` where they vary.
    pattern: Vec<Option<u8>>,
    pairs: Vec<Pair>,
}

/// What a group became.
enum Learnt {
    Rule(Rule),
    /// The replies in order, each answering once but the last.
    InOrder(Vec<Rule>, String),
}

struct Rule {
    trigger: String,
    reply: String,
    checksum: Option<Checksum>,
    once: bool,
    comment: Option<String>,
    name: String,
}

/// What was learnt: the rules file as `bridge learn` writes it, the same as the bridge reads it
/// back (which it must: the bridge starts with what it writes), and a summary for people.
pub struct LearntFile {
    pub text: String,
    pub file: RulesFile,
    pub summary: String,
}

/// Learns the rules, and checks that the bridge reads them back. The subcommand and the page's
/// `learn` both come here, so that the page is offered the same rules the file holds.
pub fn learn_checked(conversations: &[Conversation], source: &str) -> Result<LearntFile, String> {
    let (text, summary) = learn(conversations, source)?;
    let file =
        parse_rules_file(&text).map_err(|e| format!("the rules learnt do not read back ({e})"))?;
    Ok(LearntFile {
        text,
        file,
        summary,
    })
}

/// The rules file, as TOML with comments; and a summary for people.
pub fn learn(conversations: &[Conversation], source: &str) -> Result<(String, String), String> {
    let mut greetings: Vec<Vec<u8>> = Vec::new();
    let mut pairs: Vec<Pair> = Vec::new();
    for (index, c) in conversations.iter().enumerate() {
        let mut greeting = Vec::new();
        let mut current: Option<Pair> = None;
        for (from_client, m, bytes) in c.server_side() {
            if from_client {
                pairs.extend(current.take());
                current = Some(Pair {
                    conn: index,
                    request: bytes.to_vec(),
                    reply: Vec::new(),
                });
            } else if m.injected {
                // A page's send to the client: not the server's answer.
            } else if let Some(pair) = &mut current {
                pair.reply.extend_from_slice(bytes);
            } else {
                greeting.extend_from_slice(bytes);
            }
        }
        pairs.extend(current);
        if !greeting.is_empty() {
            greetings.push(greeting);
        }
    }
    let unanswered = pairs.iter().filter(|p| p.reply.is_empty()).count();
    pairs.retain(|p| !p.reply.is_empty());
    if pairs.is_empty() && greetings.is_empty() {
        return Err("the recording holds nothing the server answered: no rule to learn".to_owned());
    }

    let lines = pairs.iter().all(|p| p.request.ends_with(b"\n"));
    let crlf = lines && pairs.iter().all(|p| p.request.ends_with(b"\r\n"));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Learnt by `bridge learn` from {source}: {} conversation{}, {} request{} answered{}.",
        conversations.len(),
        plural(conversations.len()),
        pairs.len(),
        plural(pairs.len()),
        if unanswered > 0 {
            format!(" ({unanswered} not answered, left out)")
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "# Review it, then: bridge --rules THIS_FILE\n");
    if crlf {
        out.push_str("# Every request ended with CR LF: one message per line.\nframing = { mode = \"delimiter\", delimiter = \"crlf\" }\n");
    } else if lines {
        out.push_str("# Every request ended with a line feed: one message per line.\nframing = { mode = \"delimiter\", delimiter = \"lf\" }\n");
    } else {
        out.push_str("# Each read is a message, as a client that waits for each answer sends them.\nframing = { mode = \"raw\" }\n");
    }

    let mut rules: Vec<(Rule, &'static str)> = Vec::new();
    let mut summary = Vec::new();
    if let Some(first) = greetings.first() {
        let same = greetings.iter().all(|g| g == first);
        rules.push((
            Rule {
                trigger: "{ on = \"connect\" }".into(),
                reply: reply_body(first),
                checksum: None,
                once: false,
                comment: (!same).then(|| {
                    "the greetings differed between conversations: the first is kept".to_owned()
                }),
                name: "Greeting".into(),
            },
            "greeting",
        ));
        summary.push("a greeting on connect".to_owned());
    }
    let groups = group(pairs);
    let (mut generalised, mut in_order) = (0, 0);
    // Exact requests before patterns, so that a pattern never takes an exact one's request.
    let (exact, patterns): (Vec<Group>, Vec<Group>) = groups
        .into_iter()
        .partition(|g| g.pattern.iter().all(Option::is_some));
    for group in exact.into_iter().chain(patterns) {
        match learn_group(&group) {
            Learnt::Rule(rule) => {
                if group.pairs.len() > 1
                    && group.pairs.iter().any(|p| p.reply != group.pairs[0].reply)
                {
                    generalised += 1;
                }
                rules.push((rule, "reply"));
            }
            Learnt::InOrder(list, why) => {
                in_order += 1;
                let n = list.len();
                for (i, mut rule) in list.into_iter().enumerate() {
                    if i == 0 {
                        rule.comment = Some(format!(
                            "could not generalise ({why}): the {n} replies in the order recorded, \
                             each answering once but the last"
                        ));
                    }
                    rules.push((rule, "reply"));
                }
            }
        }
    }
    if rules.len() > protocol::rules::MAX_RULES {
        return Err(format!(
            "the recording would make {} rules, more than the {} a rules file may hold: pick \
             fewer conversations with --conn",
            rules.len(),
            protocol::rules::MAX_RULES
        ));
    }
    let mut n = 0;
    for (rule, kind) in &rules {
        let id = if *kind == "greeting" {
            "greeting".to_owned()
        } else {
            n += 1;
            format!("reply-{n}")
        };
        out.push('\n');
        if let Some(comment) = &rule.comment {
            let _ = writeln!(out, "# {comment}");
        }
        let _ = writeln!(
            out,
            "[[rule]]\nid = \"{id}\"\nname = {}",
            toml_string(&rule.name)
        );
        let _ = writeln!(out, "trigger = {}", rule.trigger);
        let _ = writeln!(out, "reply = {}", rule.reply);
        if let Some(checksum) = rule.checksum {
            let _ = writeln!(
                out,
                "checksum = \"{}\"",
                serde_json::to_value(checksum)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            );
        }
        if rule.once {
            out.push_str("once = true\n");
        }
    }
    summary.insert(0, format!("{} rule{}", rules.len(), plural(rules.len())));
    if generalised > 0 {
        summary.push(format!(
            "{generalised} request{} generalised",
            plural(generalised)
        ));
    }
    if in_order > 0 {
        summary.push(format!(
            "{in_order} request{} kept as the exact pairs in order",
            plural(in_order)
        ));
    }
    Ok((out, summary.join(", ")))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Groups the pairs by request: the same bytes; and binary requests of one length whose bytes
/// differ in at most a third of them (never the first), learnt as one with `??` there.
fn group(pairs: Vec<Pair>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for pair in pairs {
        let fits = |g: &Group| {
            if g.pattern.len() != pair.request.len() {
                return false;
            }
            if g.pairs[0].request == pair.request {
                return true;
            }
            if is_text(&pair.request) || is_text(&g.pairs[0].request) {
                return false;
            }
            let differ = g
                .pattern
                .iter()
                .zip(&pair.request)
                .filter(|(want, have)| **want != Some(**have))
                .count();
            g.pattern[0] == Some(pair.request[0]) && differ * 3 <= pair.request.len()
        };
        match groups.iter_mut().find(|g| fits(g)) {
            Some(g) => {
                for (want, have) in g.pattern.iter_mut().zip(&pair.request) {
                    if *want != Some(*have) {
                        *want = None;
                    }
                }
                g.pairs.push(pair);
            }
            None => groups.push(Group {
                pattern: pair.request.iter().map(|&b| Some(b)).collect(),
                pairs: vec![pair],
            }),
        }
    }
    groups
}

/// Text a person reads: UTF-8 with no control characters but line endings and tabs.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|t| {
        t.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    })
}

/// The times each pair's request had been asked on its connection (1, 2, ...): the rule's
/// `${counter}` when it replied.
fn counts(pairs: &[Pair]) -> Vec<u64> {
    let mut seen: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
    pairs
        .iter()
        .map(|p| {
            let n = seen.entry(p.conn).or_default();
            *n += 1;
            *n
        })
        .collect()
}

fn learn_group(g: &Group) -> Learnt {
    let first = &g.pairs[0];
    let trigger = trigger(&g.pattern, &first.request);
    let name = name(&g.pattern, &first.request);
    let captures = captures(&g.pattern);
    let all_same = g.pairs.iter().all(|p| p.reply == first.reply);
    let simple = |reply: String, checksum| {
        Learnt::Rule(Rule {
            trigger: trigger.clone(),
            reply,
            checksum,
            once: false,
            comment: None,
            name: name.clone(),
        })
    };
    if all_same && captures.is_empty() {
        return simple(reply_body(&first.reply), None);
    }
    let counts = counts(&g.pairs);
    let replies: Vec<&[u8]> = g.pairs.iter().map(|p| &p.reply[..]).collect();
    let requests: Vec<&[u8]> = g.pairs.iter().map(|p| &p.request[..]).collect();
    let why = match generalise_binary(&replies, &requests, &captures, &counts) {
        Ok((template, checksum)) => return simple(template, checksum),
        Err(why) => why,
    };
    if captures.is_empty() {
        if let Some(template) = generalise_text(&replies, &counts) {
            return simple(template, None);
        }
    }
    if !captures.is_empty() {
        // Learnt as one, it does not generalise: each request on its own, as recorded.
        let mut exact: Vec<Group> = Vec::new();
        for pair in &g.pairs {
            match exact
                .iter_mut()
                .find(|e| e.pairs[0].request == pair.request)
            {
                Some(e) => e.pairs.push(pair.clone()),
                None => exact.push(Group {
                    pattern: pair.request.iter().map(|&b| Some(b)).collect(),
                    pairs: vec![pair.clone()],
                }),
            }
        }
        let mut list = Vec::new();
        for sub in &exact {
            match learn_group(sub) {
                Learnt::Rule(rule) => list.push(rule),
                Learnt::InOrder(rules, _) => list.extend(rules),
            }
        }
        return Learnt::InOrder(list, why);
    }
    let n = g.pairs.len();
    let list = g
        .pairs
        .iter()
        .enumerate()
        .map(|(i, p)| Rule {
            trigger: trigger.clone(),
            reply: reply_body(&p.reply),
            checksum: None,
            once: i + 1 < n,
            comment: None,
            name: format!("{name} ({} of {n})", i + 1),
        })
        .collect();
    Learnt::InOrder(list, why)
}

/// The `??` runs of a request pattern: its capture groups, `$1` first.
fn captures(pattern: &[Option<u8>]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, b) in pattern.iter().enumerate() {
        if b.is_none() {
            match runs.last_mut() {
                Some(r) if r.end == i => r.end = i + 1,
                _ => runs.push(i..i + 1),
            }
        }
    }
    runs
}

/// One piece of a binary reply template.
#[derive(Clone, PartialEq)]
enum Piece {
    Byte(u8),
    /// A placeholder standing for the bytes from here up to the next piece that is not
    /// `Covered`.
    Placeholder(String),
    Covered,
}

/// Replies of one length whose varying bytes are each a checksum, a counter or a capture.
fn generalise_binary(
    replies: &[&[u8]],
    requests: &[&[u8]],
    captures: &[std::ops::Range<usize>],
    counts: &[u64],
) -> Result<(String, Option<Checksum>), String> {
    let len = replies[0].len();
    if replies.iter().any(|r| r.len() != len) {
        return Err("the replies are not of one length".into());
    }
    let all_same = replies.iter().all(|r| r == &replies[0]);
    let checksum = if all_same {
        None
    } else {
        Checksum::ALL
            .into_iter()
            .find(|c| len > c.size() && replies.iter().all(|r| c.verify(r) == Some(true)))
    };
    let body = len - checksum.map_or(0, Checksum::size);
    let mut pieces: Vec<Piece> = replies[0][..body].iter().map(|&b| Piece::Byte(b)).collect();
    let varies = |i: usize| replies.iter().any(|r| r[i] != replies[0][i]);
    // A capture first: bytes that are what varies in the request.
    for (group, range) in captures.iter().enumerate() {
        let w = range.len();
        for start in 0..=body.saturating_sub(w) {
            if !(start..start + w).any(varies)
                || pieces[start..start + w]
                    .iter()
                    .any(|p| !matches!(p, Piece::Byte(_)))
            {
                continue;
            }
            let echoes = replies
                .iter()
                .zip(requests)
                .all(|(r, q)| r[start..start + w] == q[range.clone()]);
            if echoes {
                pieces[start] = Piece::Placeholder(format!("${}", group + 1));
                for p in &mut pieces[start + 1..start + w] {
                    *p = Piece::Covered;
                }
            }
        }
    }
    // Then counters: each run of varying bytes, as the low end of a big-endian field.
    let mut i = 0;
    while i < body {
        if !varies(i) || !matches!(pieces[i], Piece::Byte(_)) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < body && varies(end) && matches!(pieces[end], Piece::Byte(_)) {
            end += 1;
        }
        // The widest field that counts: a 16-bit register whose high byte is still 0 is u16.
        let field = [(4, "u32"), (2, "u16"), (1, "u8")]
            .into_iter()
            .find(|&(w, _)| {
                end >= w
                    && end - w <= i
                    && pieces[end - w..end]
                        .iter()
                        .all(|p| matches!(p, Piece::Byte(_)))
                    && replies.iter().zip(counts).all(|(r, &k)| {
                        let value = r[end - w..end]
                            .iter()
                            .fold(0u64, |acc, &b| acc << 8 | u64::from(b));
                        value == k & ((1u64 << (8 * w)) - 1)
                    })
            });
        let Some((w, form)) = field else {
            return Err(format!(
                "bytes {i}..{end} of the replies vary, and are neither a counter nor what \
                 varies in the request"
            ));
        };
        pieces[end - w] = Piece::Placeholder(format!("${{counter:{form}}}"));
        for p in &mut pieces[end - w + 1..end] {
            *p = Piece::Covered;
        }
        i = end;
    }
    let mut template = String::new();
    for piece in &pieces {
        let text = match piece {
            Piece::Byte(b) => format!("{b:02x}"),
            Piece::Placeholder(p) => p.clone(),
            Piece::Covered => continue,
        };
        if !template.is_empty() {
            template.push(' ');
        }
        template.push_str(&text);
    }
    Ok((format!("{{ hex = {} }}", toml_string(&template)), checksum))
}

/// Text replies alike but for a decimal number that is the counter: `+${counter}.000E-03\n`.
fn generalise_text(replies: &[&[u8]], counts: &[u64]) -> Option<String> {
    let texts: Vec<&str> = replies
        .iter()
        .map(|r| std::str::from_utf8(r).ok())
        .collect::<Option<_>>()?;
    let shortest = texts.iter().map(|t| t.len()).min()?;
    let mut prefix = 0;
    while prefix < shortest
        && texts
            .iter()
            .all(|t| t.as_bytes()[prefix] == texts[0].as_bytes()[prefix])
    {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < shortest - prefix
        && texts.iter().all(|t| {
            t.as_bytes()[t.len() - 1 - suffix] == texts[0].as_bytes()[texts[0].len() - 1 - suffix]
        })
    {
        suffix += 1;
    }
    // Digits beside the number are part of it (11, 12 share their 1).
    let t0 = texts[0].as_bytes();
    while prefix > 0 && t0[prefix - 1].is_ascii_digit() {
        prefix -= 1;
    }
    while suffix > 0 && t0[t0.len() - suffix].is_ascii_digit() {
        suffix -= 1;
    }
    let counted = texts
        .iter()
        .zip(counts)
        .all(|(t, &k)| t.get(prefix..t.len() - suffix) == Some(k.to_string().as_str()));
    if !counted {
        return None;
    }
    let head = &texts[0][..prefix];
    let tail = &texts[0][texts[0].len() - suffix..];
    Some(format!(
        "{{ text = {} }}",
        toml_string(&format!(
            "{}${{counter}}{}",
            escape(head, true),
            escape(tail, true)
        ))
    ))
}

/// A trigger for a request: `exact` text, or a hex pattern.
fn trigger(pattern: &[Option<u8>], request: &[u8]) -> String {
    if pattern.iter().all(Option::is_some) && is_text(request) {
        let text = std::str::from_utf8(request).expect("text is UTF-8");
        // `exact` matches with or without one trailing line ending.
        let bare = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        return format!(
            "{{ on = \"exact\", text = {} }}",
            toml_string(&escape(bare, false))
        );
    }
    format!(
        "{{ on = \"hex\", pattern = {} }}",
        toml_string(&hex_pattern(pattern))
    )
}

fn hex_pattern(pattern: &[Option<u8>]) -> String {
    pattern
        .iter()
        .map(|b| b.map_or("??".to_owned(), |b| format!("{b:02x}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What people see of the rule: the request.
fn name(pattern: &[Option<u8>], request: &[u8]) -> String {
    let shown = if pattern.iter().all(Option::is_some) && is_text(request) {
        String::from_utf8_lossy(request).trim_end().to_owned()
    } else {
        hex_pattern(pattern)
    };
    let mut shown: String = shown.chars().take(60).collect();
    if shown.is_empty() {
        shown = "an empty message".into();
    }
    format!("Answer {shown}")
}

/// A reply as it was: text when it reads as text, else hex.
fn reply_body(reply: &[u8]) -> String {
    if is_text(reply) {
        let text = std::str::from_utf8(reply).expect("text is UTF-8");
        format!("{{ text = {} }}", toml_string(&escape(text, true)))
    } else {
        format!(
            "{{ hex = {} }}",
            toml_string(&protocol::hex::encode_with(reply, " "))
        )
    }
}

/// Text in the rules' escaped text: `\n`, `\\`, `\xHH`; and `$$` in a reply template.
fn escape(text: &str, template: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '$' if template => out.push_str("$$"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A TOML string: literal (single quotes) when it can be, so that escapes read as written.
fn toml_string(text: &str) -> String {
    if !text.contains('\'') && !text.chars().any(char::is_control) {
        return format!("'{text}'");
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::read;
    use crate::rules_file::parse_rules_file;

    /// A conversation a client opened: `>` what it sent, `<` what the server answered.
    fn recording(turns: &[(&str, &[u8])]) -> Vec<Conversation> {
        let mut text = String::from(
            r#"{"at":"2026-11-24T20:11:32.000000Z","conn":1,"event":"open","origin":"accepted","peer":"127.0.0.1:5000","local":"127.0.0.1:7777"}"#,
        );
        text.push('\n');
        for (seq, (way, bytes)) in turns.iter().enumerate() {
            let dir = if *way == ">" { "rx" } else { "tx" };
            let _ = writeln!(
                text,
                r#"{{"at":"2026-11-24T20:11:33.{seq:06}Z","conn":1,"seq":{seq},"dir":"{dir}","hex":"{}"}}"#,
                protocol::hex::encode(bytes)
            );
        }
        read(&text, false).unwrap().conversations
    }

    fn learnt(turns: &[(&str, &[u8])]) -> String {
        let (rules, _) = learn(&recording(turns), "test.jsonl").unwrap();
        parse_rules_file(&rules).unwrap_or_else(|e| panic!("{e}\n{rules}"));
        rules
    }

    #[test]
    fn a_transaction_id_that_the_reply_echoes_becomes_its_capture() {
        // Modbus/TCP: each request its own transaction id, which the reply repeats.
        let ask = |id: u8| vec![0, id, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
        let answer = |id: u8| vec![0, id, 0, 0, 0, 5, 1, 3, 2, 0, 42];
        let (a1, a2, a3) = (ask(1), ask(2), ask(3));
        let (r1, r2, r3) = (answer(1), answer(2), answer(3));
        let rules = learnt(&[
            (">", &a1),
            ("<", &r1),
            (">", &a2),
            ("<", &r2),
            (">", &a3),
            ("<", &r3),
        ]);
        assert!(
            rules.contains(
                "trigger = { on = \"hex\", pattern = '00 ?? 00 00 00 06 01 03 00 00 00 01' }\n\
                 reply = { hex = '00 $1 00 00 00 05 01 03 02 00 2a' }\n"
            ),
            "{rules}"
        );
    }

    #[test]
    fn a_decimal_counter_in_text_and_a_greeting() {
        let rules = learnt(&[
            ("<", b"READY\r\n"),
            (">", b"COUNT?\r\n"),
            ("<", b"n=9 $\r\n"),
            (">", b"COUNT?\r\n"),
            ("<", b"n=10 $\r\n"),
        ]);
        assert!(rules.contains("delimiter = \"crlf\""), "{rules}");
        assert!(
            rules.contains("trigger = { on = \"connect\" }\nreply = { text = 'READY\\r\\n' }"),
            "{rules}"
        );
        // Counted from 1 on a connection: 9 and 10 are not the counter, so in order.
        assert!(rules.contains("could not generalise"), "{rules}");
        let counted = learnt(&[
            (">", b"COUNT?\n"),
            ("<", b"n=1 $\n"),
            (">", b"COUNT?\n"),
            ("<", b"n=2 $\n"),
        ]);
        assert!(
            counted.contains("reply = { text = 'n=${counter} $$\\n' }"),
            "{counted}"
        );
    }

    #[test]
    fn replies_that_do_not_generalise_are_kept_in_order() {
        let rules = learnt(&[
            (">", b"T?\n"),
            ("<", b"warm\n"),
            (">", b"T?\n"),
            ("<", b"cold\n"),
        ]);
        assert!(
            rules.contains(
                "# could not generalise (bytes 0..4 of the replies vary, and are neither a \
                 counter nor what varies in the request): the 2 replies in the order recorded, \
                 each answering once but the last\n"
            ),
            "{rules}"
        );
        assert!(
            rules.contains("reply = { text = 'warm\\n' }\nonce = true\n"),
            "{rules}"
        );
        assert!(rules.ends_with("reply = { text = 'cold\\n' }\n"), "{rules}");
    }
}
