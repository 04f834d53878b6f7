//! The auto-reply engine: given a connection's received messages (after framing), it says what
//! the bridge answers by itself, standing in for a device. The rules are the protocol crate's
//! [`Rule`]s, from the page or from a rules file; this module compiles and runs them.
//!
//! A [`RuleSet`] is compiled once (regexes included) and shared by every connection; each
//! connection keeps a [`Responder`] with its own state: each rule's `${counter}`, which `once`
//! rules have fired, and its rate limit. State is keyed by rule id, so replacing the rule set
//! keeps the counters of rules that are still there.
//!
//! For each event the rules are tried in order, and the first enabled rule in scope that
//! matches (and is not a `once` rule that already fired here) answers; see
//! [`protocol::rules`] for what each trigger matches. The engine only computes replies: the
//! connection task sends each after its delay.
//!
//! **Rules in passing.** A proxy's side is answered only by the rules watching its way
//! ([`Responder::watching`]), and an ordinary conversation only by rules without one. A
//! rewrite's trigger is matched for where it matched ([`Found::Rewrite`]), and the message
//! rebuilt around those matches when the rule is settled; see [`protocol::rules`] for what each
//! action does. The rate limit below holds back replies and answers, never a rewrite or a drop:
//! what passes is not the bridge talking.
//!
//! **Rate limit.** Two bridges answering each other, or a rule that answers its own echo,
//! would otherwise talk forever at full speed. Each connection may send [`BURST`] replies at
//! once and [`REPLIES_PER_SECOND`] a second after that; a reply past the limit is dropped
//! ([`Answer::Limited`], with `first` set once, so that the page is told once), and the
//! connection stays silent until its allowance has refilled completely (one second without
//! replies), then answers again.
//!
//! **What a rule set may cost.** A regex is compiled with a size limit
//! ([`REGEX_SIZE_LIMIT`]) and a bounded lazy-DFA cache ([`REGEX_CACHE`]), and a whole set may
//! take at most [`RULE_SET_BUDGET`] of memory, counting each regex with a cache for each thread
//! that matches ([`crate::matching::THREADS`]). A set over either bound is refused, naming the
//! rule. Compiling and matching regexes takes time: both run off the async workers
//! ([`compile_apart`], [`crate::matching`]); [`RuleSet::find`] stops before a regex rule once
//! its deadline has passed. A message that cannot match costs little: the regex engine looks
//! for the literals every match must hold (`q0` in `\w{40}z\w{40}q0`) before running its
//! automata.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use protocol::rules::{validate_rules, Action, Matcher, Rule, RuleError};
use protocol::size::format_size;
use protocol::template::{HexPattern, Part, Template};
use protocol::text_encoding::TextEncoding;
use protocol::{ConnId, Origin, Way};
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Input, PatternID};
use tokio::sync::Semaphore;

/// Replies a connection may send at once...
pub const BURST: u32 = 20;
/// ...and each second after that.
pub const REPLIES_PER_SECOND: u32 = 20;

/// The most one rule's regex may take once compiled (its automata, forward and reverse). A
/// Unicode class is large: `\w` alone takes about 5 KiB, so `\w{40}z\w{40}` is over it.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The most the lazy DFA of one regex may cache, on each thread that matches.
pub const REGEX_CACHE: usize = 128 << 10;
/// The most a whole rule set may take: its regexes, each with a cache per matching thread.
pub const RULE_SET_BUDGET: usize = 96 << 20;

/// One rule set compiles at a time, so that pages sending rule sets cannot take every thread.
static COMPILING: Semaphore = Semaphore::const_new(1);

/// A compiled rule set, shared by every connection.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Compiled>,
    /// Whether an enabled rule watches each way of a proxy: client→server, server→client.
    /// Without one, a proxy's side relays as it reads, with no rule looking.
    watching: [bool; 2],
}

#[derive(Debug)]
struct Compiled {
    rule: Rule,
    test: Test,
    /// The reply, with named groups resolved to numbers.
    template: Template,
    /// How many replies this rule has given, on every connection.
    hits: AtomicU64,
}

/// A trigger, ready to run.
#[derive(Debug)]
enum Test {
    Connect,
    Any,
    Exact(Vec<u8>),
    Prefix(Vec<u8>),
    Contains(Vec<u8>),
    /// A regex: in UTF-8, run on the bytes themselves, so that a message that is not valid
    /// UTF-8 can still match (`(?-u:.)` matches any byte); in another encoding, run on the
    /// message decoded. `groups` is set when the reply uses the regex's groups: otherwise
    /// knowing that it matches is enough, and cheaper.
    Regex {
        regex: Regex,
        encoding: TextEncoding,
        groups: bool,
    },
    Hex(HexPattern),
}

impl Test {
    /// What matching it may cost: regexes, by far the most.
    fn is_regex(&self) -> bool {
        matches!(self, Test::Regex { .. })
    }
}

/// Which rule answers an event, as [`RuleSet::find`] found it.
#[derive(Debug)]
pub enum Found {
    Nothing,
    /// The rule at this index, with its capture groups.
    Rule(usize, Groups),
    /// The rule at this index, a rewrite, with where it matched the message (less its
    /// checksum, when the rule has one).
    Rewrite(usize, Spans),
    /// The deadline passed before the rule at this index (a regex) was tried: it and the rules
    /// after it were skipped.
    OutOfTime(usize),
}

/// A match's capture groups by number (the first is the whole match, when there is one).
pub type Groups = Vec<Option<Vec<u8>>>;

/// Where a rewrite's trigger matched, in order: each match's range, and its groups.
pub type Spans = Vec<(Range<usize>, Groups)>;

impl RuleSet {
    /// Checks and compiles `rules`. The error names the rule and says what to fix. Compiling a
    /// regex takes time: off the async workers, call [`compile_apart`].
    pub fn compile(rules: &[Rule]) -> Result<RuleSet, RuleError> {
        validate_rules(rules)?;
        let mut cost = 0;
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in rules {
            let one = compile_rule(rule).map_err(|why| RuleError::of(rule, why))?;
            cost += one.cost();
            if cost > RULE_SET_BUDGET {
                let why = format!(
                    "{}: the rule set would take more than the {} of memory a rule set may take \
                     ({} with this rule, counting a cache for each matching thread): use fewer \
                     regexes, or simpler ones",
                    rule.label(),
                    format_size(RULE_SET_BUDGET as u64),
                    format_size(cost as u64),
                );
                return Err(RuleError::of(rule, why));
            }
            compiled.push(one);
        }
        let watches = |way| rules.iter().any(|r| r.enabled && r.way == Some(way));
        Ok(RuleSet {
            rules: compiled,
            watching: [watches(Way::ClientToServer), watches(Way::ServerToClient)],
        })
    }

    /// Carries over the replies counted by the rules of `old` that are still here (by id), so
    /// that switching one rule off or moving it does not zero every count.
    pub fn keep_hits_of(self, old: &RuleSet) -> RuleSet {
        for compiled in &self.rules {
            if let Some(was) = old.rules.iter().find(|o| o.rule.id == compiled.rule.id) {
                compiled
                    .hits
                    .store(was.hits.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        self
    }

    /// Whether an enabled rule watches a proxy's messages going `way`.
    pub fn watches(&self, way: Way) -> bool {
        self.watching[way_index(way)]
    }

    /// Whether any of these rules is a regex: matching them must not hold up the async workers.
    pub fn costly(&self, eligible: &[usize]) -> bool {
        eligible.iter().any(|&i| self.rules[i].test.is_regex())
    }

    /// The first of the `eligible` rules (indices, in order) whose trigger matches the event
    /// (`None`: the connection opened). Past `deadline`, no regex rule is tried any more.
    pub fn find(
        &self,
        eligible: &[usize],
        message: Option<&[u8]>,
        deadline: Option<Instant>,
    ) -> Found {
        for &index in eligible {
            let compiled = &self.rules[index];
            let test = &compiled.test;
            if test.is_regex() && deadline.is_some_and(|d| Instant::now() >= d) {
                return Found::OutOfTime(index);
            }
            if compiled.rule.action == Action::Rewrite {
                let body = message.and_then(|m| body_of(m, &compiled.rule));
                if let Some(spans) = body.and_then(|body| spans(test, body)) {
                    return Found::Rewrite(index, spans);
                }
                continue;
            }
            if let Some(groups) = captures(test, message) {
                return Found::Rule(index, groups);
            }
        }
        Found::Nothing
    }

    /// The id of the rule at `index`.
    pub fn id(&self, index: usize) -> &str {
        &self.rules[index].rule.id
    }

    /// How many replies each rule has given, on every connection, in the rules' order.
    pub fn hits(&self) -> Vec<(String, u64)> {
        self.rules
            .iter()
            .map(|c| (c.rule.id.clone(), c.hits.load(Ordering::Relaxed)))
            .collect()
    }
}

fn way_index(way: Way) -> usize {
    match way {
        Way::ClientToServer => 0,
        Way::ServerToClient => 1,
    }
}

/// What a rewrite's trigger looks at: the message less its checksum, when the rule has one
/// (`None`: the message is too short to hold it).
fn body_of<'m>(message: &'m [u8], rule: &Rule) -> Option<&'m [u8]> {
    match rule.checksum {
        Some(checksum) => message
            .len()
            .checked_sub(checksum.size())
            .map(|n| &message[..n]),
        None => Some(message),
    }
}

/// Compiles `rules` on a thread of their own, one set at a time: a large set takes a while.
pub async fn compile_apart(rules: Vec<Rule>) -> (Vec<Rule>, Result<RuleSet, RuleError>) {
    let _turn = COMPILING.acquire().await;
    tokio::task::spawn_blocking(move || {
        let compiled = RuleSet::compile(&rules);
        (rules, compiled)
    })
    .await
    .expect("compiling rules does not panic")
}

impl Compiled {
    /// The memory it may take: a regex's automata, and its caches on each matching thread
    /// (the lazy DFA's, bounded, and the rest's, about the size of the automata).
    fn cost(&self) -> usize {
        match &self.test {
            Test::Regex { regex, .. } => {
                let size = regex.memory_usage();
                size + crate::matching::THREADS * (REGEX_CACHE + size)
            }
            _ => 0,
        }
    }
}

fn compile_rule(rule: &Rule) -> Result<Compiled, String> {
    let (matcher, mut template) = rule.check()?;
    let fail = |what: String| format!("{}: {what}", rule.label());
    let test = match matcher {
        Matcher::Connect => Test::Connect,
        Matcher::Any => Test::Any,
        Matcher::Exact(text) => Test::Exact(text),
        Matcher::Prefix(text) => Test::Prefix(text),
        Matcher::Contains(text) => Test::Contains(text),
        Matcher::Hex(pattern) => Test::Hex(pattern),
        Matcher::Regex(pattern) => {
            let regex = build_regex(&pattern, rule.encoding).map_err(fail)?;
            let names: Vec<Option<String>> = regex
                .group_info()
                .pattern_names(PatternID::ZERO)
                .map(|n| n.map(str::to_owned))
                .collect();
            resolve_groups(&mut template, &names).map_err(fail)?;
            let groups = template.parts.iter().any(|p| matches!(p, Part::Group(_)));
            Test::Regex {
                regex,
                encoding: rule.encoding,
                groups,
            }
        }
    };
    Ok(Compiled {
        rule: rule.clone(),
        test,
        template,
        hits: AtomicU64::new(0),
    })
}

/// A rule's regex, within [`REGEX_SIZE_LIMIT`] and [`REGEX_CACHE`]. In UTF-8 it runs on the
/// message's bytes, so it may match bytes that are not UTF-8 (as `regex::bytes` does); in
/// another encoding, on the decoded text.
fn build_regex(pattern: &str, encoding: TextEncoding) -> Result<Regex, String> {
    let on_text = encoding != TextEncoding::Utf8;
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .onepass_size_limit(Some(REGEX_SIZE_LIMIT))
                .dfa_size_limit(Some(REGEX_CACHE))
                .hybrid_cache_capacity(REGEX_CACHE)
                .utf8_empty(on_text),
        )
        .syntax(syntax::Config::new().utf8(on_text))
        .build(pattern)
        .map_err(|e| match (e.syntax_error(), e.size_limit()) {
            (Some(syntax), _) => syntax_error(&syntax.to_string()),
            (None, Some(limit)) => format!(
                "its regex is too large once compiled: over the {} a rule's regex may take. \
                 A Unicode class repeated is large (`\\w{{40}}` is 200 KiB): write \
                 `(?-u:\\w)` or `[A-Za-z0-9_]` to match ASCII only, or repeat less",
                format_size(limit as u64)
            ),
            (None, None) => format!("its regex does not compile: {e}"),
        })
}

/// A regex's syntax error, as the regex crate writes it (`regex parse error:`, the pattern, a
/// line with `^` under the fault, `error: ` and the reason), turned round: the reason first, on
/// the first line, then the pattern and its pointer line as they were, for a fixed-width font.
fn syntax_error(written: &str) -> String {
    let lines: Vec<&str> = written.lines().collect();
    let pointer = match lines.as_slice() {
        ["regex parse error:", pointer @ .., last] if !pointer.is_empty() => {
            last.strip_prefix("error: ").map(|reason| (reason, pointer))
        }
        _ => None,
    };
    match pointer {
        Some((reason, lines)) => {
            let pointer: Vec<&str> = lines
                .iter()
                .map(|l| l.strip_prefix("    ").unwrap_or(l))
                .collect();
            format!(
                "its regex does not compile: {reason}\n{}",
                pointer.join("\n")
            )
        }
        None => format!("its regex does not compile: {written}"),
    }
}

/// Checks that the template's groups exist in a regex with these group names (the first is
/// the whole match), and turns named groups into numbers.
fn resolve_groups(template: &mut Template, names: &[Option<String>]) -> Result<(), String> {
    let groups = names.len() - 1;
    for part in &mut template.parts {
        match part {
            Part::Group(n) if *n > groups => {
                return Err(format!(
                    "its reply uses `${n}`, but its regex has {groups} group{}",
                    if groups == 1 { "" } else { "s" }
                ))
            }
            Part::Named(name) => {
                let index = names
                    .iter()
                    .position(|n| n.as_deref() == Some(name.as_str()))
                    .ok_or_else(|| {
                        format!(
                            "its reply uses `${{{name}}}`, but its regex has no group named \
                             `{name}`: write `(?<{name}>...)` around what it should capture"
                        )
                    })?;
                *part = Part::Group(index);
            }
            _ => {}
        }
    }
    Ok(())
}

/// What the rules say about one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// No rule answers.
    Nothing,
    /// Send this (in a proxy, back to the side that sent the message, which goes on too).
    Reply(Reply),
    /// Send this back to the side of a proxy that sent the message, which goes no further.
    Instead(Reply),
    /// Forward these bytes in place of the proxy's message (no delay).
    Rewrite(Reply),
    /// Rule `rule` says that the proxy's message goes no further.
    Drop { rule: String },
    /// Rule `rule` matched, but the rate limit dropped its reply. `first` is set for the first
    /// reply dropped since the connection last answered: the moment to tell the page. `stops`
    /// when the rule was to answer instead of forwarding: the message goes no further either.
    Limited {
        rule: String,
        first: bool,
        stops: bool,
    },
    /// Matching ran out of time before rule `rule` was tried: it and the rules after it were
    /// skipped for this message; `by_connection` when the connection's budget ran out rather
    /// than the message's (see [`crate::matching`]). Said once until a message is matched in
    /// full again.
    Skipped { rule: String, by_connection: bool },
}

/// A reply to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The id of the rule that answered.
    pub rule: String,
    /// The bytes, checksum included. Empty only when the template wrote nothing (an empty
    /// capture, say): then there is nothing to send.
    pub bytes: Vec<u8>,
    /// How long to wait before sending it.
    pub delay: Duration,
}

/// One connection's side of the rules: counters, `once` rules fired, the rate limit.
#[derive(Debug)]
pub struct Responder {
    conn: ConnId,
    origin: Origin,
    /// The way of a proxy's messages it answers; `None`: an ordinary conversation's.
    way: Option<Way>,
    /// Replies given per rule id: `${counter}`.
    counters: HashMap<String, u64>,
    /// The `once` rules that have answered here.
    fired: HashSet<String>,
    limit: Limit,
}

impl Responder {
    pub fn new(conn: ConnId, origin: Origin, now: Instant) -> Responder {
        Responder {
            conn,
            origin,
            way: None,
            counters: HashMap::new(),
            fired: HashSet::new(),
            limit: Limit::new(now),
        }
    }

    /// The same, for a proxy's side: answered only by the rules watching `way`.
    pub fn watching(self, way: Way) -> Responder {
        Responder {
            way: Some(way),
            ..self
        }
    }

    /// The connection opened: the greeting, if a rule gives one. `local_time` is asked for
    /// only if the reply uses `${time}`.
    pub fn on_connect(
        &mut self,
        rules: &RuleSet,
        now: Instant,
        local_time: &dyn Fn() -> String,
    ) -> Answer {
        self.answer(rules, None, now, local_time)
    }

    /// The connection received `message` (one frame): the reply, if a rule gives one, matched
    /// here and now without a budget (the bridge matches through [`crate::matching`]).
    #[cfg(test)]
    pub fn on_message(
        &mut self,
        rules: &RuleSet,
        message: &[u8],
        now: Instant,
        local_time: &dyn Fn() -> String,
    ) -> Answer {
        self.answer(rules, Some(message), now, local_time)
    }

    fn answer(
        &mut self,
        rules: &RuleSet,
        message: Option<&[u8]>,
        now: Instant,
        local_time: &dyn Fn() -> String,
    ) -> Answer {
        let found = rules.find(&self.eligible(rules), message, None);
        self.settle(rules, found, message, now, local_time)
    }

    /// The indices of the rules that may answer on this connection now, in order: enabled, in
    /// scope, watching its way (or none, for an ordinary conversation), and not a `once` rule
    /// that already answered here.
    pub fn eligible(&self, rules: &RuleSet) -> Vec<usize> {
        rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, compiled)| {
                let rule = &compiled.rule;
                rule.enabled
                    && rule.way == self.way
                    && rule.scope.includes(self.conn, self.origin)
                    && !(rule.once && self.fired.contains(&rule.id))
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// The answer to `message` (`None`: the connection opened) once `found` says which rule
    /// matched: the reply, or the rate limit holding it back. A rule skipped for want of time
    /// answers nothing here: [`crate::matching`] tells the page.
    pub fn settle(
        &mut self,
        rules: &RuleSet,
        found: Found,
        message: Option<&[u8]>,
        now: Instant,
        local_time: &dyn Fn() -> String,
    ) -> Answer {
        let (index, how) = match found {
            Found::Rule(index, groups) => (index, Ok(groups)),
            Found::Rewrite(index, spans) => (index, Err(spans)),
            Found::Nothing | Found::OutOfTime(_) => return Answer::Nothing,
        };
        let compiled = &rules.rules[index];
        let rule = &compiled.rule;
        let replies = matches!(rule.action, Action::Reply | Action::Answer);
        if replies {
            if let Err(first) = self.limit.take(now) {
                return Answer::Limited {
                    rule: rule.id.clone(),
                    first,
                    stops: rule.action == Action::Answer,
                };
            }
        }
        let counter = self.counters.entry(rule.id.clone()).or_insert(0);
        *counter += 1;
        let counter = *counter;
        if rule.once {
            self.fired.insert(rule.id.clone());
        }
        compiled.hits.fetch_add(1, Ordering::Relaxed);
        let message = message.unwrap_or_default();
        let render = |groups: &Groups| {
            render(
                &compiled.template,
                groups,
                message,
                counter,
                rule.encoding,
                local_time,
            )
        };
        let bytes = match how {
            Ok(groups) if rule.action != Action::Drop => {
                let mut bytes = render(&groups);
                if let Some(checksum) = rule.checksum {
                    checksum.append(&mut bytes);
                }
                bytes
            }
            Ok(_) => Vec::new(),
            Err(spans) => {
                // What the trigger saw, with each match replaced, and its checksum afresh.
                let body = body_of(message, rule).unwrap_or_default();
                let mut bytes = Vec::with_capacity(body.len());
                let mut at = 0;
                for (range, groups) in &spans {
                    bytes.extend_from_slice(&body[at..range.start]);
                    bytes.extend(render(groups));
                    at = range.end;
                }
                bytes.extend_from_slice(&body[at..]);
                if let Some(checksum) = rule.checksum {
                    checksum.append(&mut bytes);
                }
                bytes
            }
        };
        let reply = Reply {
            rule: rule.id.clone(),
            bytes,
            delay: Duration::from_millis(u64::from(rule.delay_ms)),
        };
        match rule.action {
            Action::Reply => Answer::Reply(reply),
            Action::Answer => Answer::Instead(reply),
            Action::Rewrite => Answer::Rewrite(reply),
            Action::Drop => Answer::Drop { rule: reply.rule },
        }
    }
}

/// A rule's capture groups if its trigger matches the event (`None` for the connection
/// opening), by number (the first is the whole match, when there is one).
fn captures(test: &Test, message: Option<&[u8]>) -> Option<Groups> {
    let Some(message) = message else {
        return matches!(test, Test::Connect).then(Vec::new);
    };
    let line = without_line_ending(message);
    let yes = |matched: bool| matched.then(Vec::new);
    match test {
        Test::Connect => None,
        Test::Any => Some(Vec::new()),
        Test::Exact(text) => yes(message == text.as_slice() || line == text.as_slice()),
        Test::Prefix(text) => yes(message.starts_with(text)),
        Test::Contains(text) => yes(message.windows(text.len()).any(|w| w == text.as_slice())),
        Test::Regex {
            regex,
            encoding,
            groups,
        } => {
            let text;
            let hay = if *encoding == TextEncoding::Utf8 {
                line
            } else {
                text = encoding.decode_lossy(line);
                text.as_bytes()
            };
            if !groups {
                return yes(regex.is_match(Input::new(hay)));
            }
            let mut caps = regex.create_captures();
            regex.search_captures(&Input::new(hay), &mut caps);
            caps.is_match().then(|| {
                (0..caps.group_len())
                    .map(|n| {
                        let group = &hay[caps.get_group(n)?.range()];
                        Some(if *encoding == TextEncoding::Utf8 {
                            group.to_vec()
                        } else {
                            // The groups of a regex on text are text: back to the encoding.
                            encoding.encode_lossy(&String::from_utf8_lossy(group))
                        })
                    })
                    .collect()
            })
        }
        Test::Hex(pattern) => pattern.matches(message).map(|groups| {
            std::iter::once(Some(message.to_vec()))
                .chain(groups.into_iter().map(|g| Some(g.to_vec())))
                .collect()
        }),
    }
}

/// Where a rewrite's trigger matches `message` (the message less its checksum, if the rule has
/// one), and each match's groups; `None` when it does not match.
fn spans(test: &Test, message: &[u8]) -> Option<Spans> {
    let line = without_line_ending(message);
    let at_start = |len: usize| Some(vec![(0..len, Vec::new())]);
    match test {
        Test::Connect => None,
        Test::Any => at_start(message.len()),
        // The text, which may carry its own line ending; any other line ending stays.
        Test::Exact(text) if message == text.as_slice() || line == text.as_slice() => {
            at_start(text.len())
        }
        Test::Exact(_) => None,
        Test::Prefix(text) if message.starts_with(text) => at_start(text.len()),
        Test::Prefix(_) => None,
        Test::Contains(text) => {
            let mut spans = Vec::new();
            let mut at = 0;
            while let Some(found) = message[at..]
                .windows(text.len())
                .position(|w| w == text.as_slice())
            {
                let start = at + found;
                at = start + text.len();
                spans.push((start..at, Vec::new()));
            }
            (!spans.is_empty()).then_some(spans)
        }
        // Checked to be in UTF-8: the regex runs on the bytes, less one line ending.
        Test::Regex { regex, .. } => {
            let spans: Spans = regex
                .captures_iter(Input::new(line))
                .filter_map(|caps| {
                    let whole = caps.get_match()?.range();
                    let groups = (0..caps.group_len())
                        .map(|n| Some(line[caps.get_group(n)?.range()].to_vec()))
                        .collect();
                    Some((whole, groups))
                })
                .collect();
            (!spans.is_empty()).then_some(spans)
        }
        Test::Hex(pattern) => pattern.matches(message).map(|groups| {
            let groups = std::iter::once(Some(message.to_vec()))
                .chain(groups.into_iter().map(|g| Some(g.to_vec())))
                .collect();
            vec![(0..pattern.bytes.len(), groups)]
        }),
    }
}

/// `message` less one trailing `\r\n`, `\n` or `\r`, as for the exit word.
fn without_line_ending(message: &[u8]) -> &[u8] {
    message
        .strip_suffix(b"\r\n")
        .or_else(|| message.strip_suffix(b"\n"))
        .or_else(|| message.strip_suffix(b"\r"))
        .unwrap_or(message)
}

/// The reply's bytes: the template with its placeholders filled in.
fn render(
    template: &Template,
    groups: &[Option<Vec<u8>>],
    message: &[u8],
    counter: u64,
    encoding: TextEncoding,
    local_time: &dyn Fn() -> String,
) -> Vec<u8> {
    let mut out = Vec::new();
    for part in &template.parts {
        match part {
            Part::Bytes(bytes) => out.extend_from_slice(bytes),
            // A group that took no part in the match writes nothing.
            Part::Group(n) => out.extend(groups.get(*n).into_iter().flatten().flatten()),
            // Resolved to numbers at compile time.
            Part::Named(_) => {}
            Part::Message => out.extend_from_slice(message),
            Part::Counter(form) => out.extend(form.write(counter)),
            Part::Time => out.extend(encoding.encode_lossy(&local_time())),
        }
    }
    out
}

/// The per-connection rate limit: a token bucket that, once empty, stays shut until full.
#[derive(Debug)]
struct Limit {
    tokens: f64,
    at: Instant,
    /// Emptied, and not yet full again.
    shut: bool,
}

impl Limit {
    fn new(now: Instant) -> Limit {
        Limit {
            tokens: f64::from(BURST),
            at: now,
            shut: false,
        }
    }

    /// Takes one reply's allowance, or says whether this is the first reply held back.
    fn take(&mut self, now: Instant) -> Result<(), bool> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = self.at.max(now);
        self.tokens = (self.tokens + elapsed * f64::from(REPLIES_PER_SECOND)).min(f64::from(BURST));
        if self.shut && self.tokens < f64::from(BURST) {
            return Err(false);
        }
        self.shut = false;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            self.shut = true;
            Err(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::checksum::Checksum;
    use protocol::rules::{ReplyBody, Scope, Trigger};

    fn at(ms: u64) -> Instant {
        thread_local!(static START: Instant = Instant::now());
        START.with(|start| *start + Duration::from_millis(ms))
    }

    fn clock() -> String {
        "2026-11-24T21:11:32+01:00".into()
    }

    fn text(id: &str, trigger: Trigger, reply: &str) -> Rule {
        Rule::new(id, trigger, ReplyBody::Text(reply.into()))
    }

    fn exact(t: &str) -> Trigger {
        Trigger::Exact { text: t.into() }
    }

    fn regex(p: &str) -> Trigger {
        Trigger::Regex { pattern: p.into() }
    }

    fn hex(p: &str) -> Trigger {
        Trigger::Hex { pattern: p.into() }
    }

    /// A responder on connection 1, accepted.
    fn responder() -> Responder {
        Responder::new(1, Origin::Accepted, at(0))
    }

    /// The reply's bytes, or `None`.
    fn reply(responder: &mut Responder, rules: &RuleSet, message: &[u8]) -> Option<Vec<u8>> {
        match responder.on_message(rules, message, at(0), &clock) {
            Answer::Reply(reply) => Some(reply.bytes),
            Answer::Nothing => None,
            limited => panic!("unexpected {limited:?}"),
        }
    }

    fn set(rules: Vec<Rule>) -> RuleSet {
        RuleSet::compile(&rules).unwrap()
    }

    #[test]
    fn exact_matches_with_or_without_one_line_ending() {
        let rules = set(vec![text("ping", exact("PING"), "PONG\\n")]);
        let mut r = responder();
        for message in [&b"PING"[..], b"PING\n", b"PING\r\n", b"PING\r"] {
            assert_eq!(reply(&mut r, &rules, message), Some(b"PONG\n".to_vec()));
        }
        for message in [&b"PING\n\n"[..], b"PING!", b"ping", b" PING"] {
            assert_eq!(reply(&mut r, &rules, message), None, "{message:?}");
        }
        // A text that carries its own line ending matches exactly that.
        let rules = set(vec![text("crlf", exact("OK\\r\\n"), "yes")]);
        assert_eq!(reply(&mut r, &rules, b"OK\r\n"), Some(b"yes".to_vec()));
        assert_eq!(reply(&mut r, &rules, b"OK\n"), None);
    }

    #[test]
    fn prefix_contains_and_any() {
        let rules = set(vec![
            text(
                "p",
                Trigger::Prefix {
                    text: "GET ".into(),
                },
                "prefix",
            ),
            text(
                "c",
                Trigger::Contains {
                    text: "\\x00".into(),
                },
                "nul",
            ),
            text("a", Trigger::Any, "any"),
        ]);
        let mut r = responder();
        assert_eq!(reply(&mut r, &rules, b"GET /"), Some(b"prefix".to_vec()));
        assert_eq!(reply(&mut r, &rules, b"x GET /"), Some(b"any".to_vec()));
        assert_eq!(reply(&mut r, &rules, b"a\0b"), Some(b"nul".to_vec()));
        assert_eq!(reply(&mut r, &rules, b"\xff"), Some(b"any".to_vec()));
    }

    #[test]
    fn regex_captures_fill_the_reply() {
        let rules = set(vec![text(
            "set",
            regex(r"^SET (?<what>\w+) (\d+)$"),
            "OK ${what}=$2 [$1] (${msg})",
        )]);
        let mut r = responder();
        assert_eq!(
            reply(&mut r, &rules, b"SET volt 12\r\n"),
            Some(b"OK volt=12 [volt] (SET volt 12\r\n)".to_vec())
        );
        // The pattern sees the message less its line ending; invalid UTF-8 does not stop it.
        let rules = set(vec![text("bin", regex(r"^(?-u)ID:(.)$"), "got $1")]);
        assert_eq!(
            reply(&mut r, &rules, b"ID:\xff\n"),
            Some(b"got \xff".to_vec())
        );
        // An optional group that did not take part writes nothing.
        let rules = set(vec![text("opt", regex(r"^a(b)?(c)$"), "[$1|$2]")]);
        assert_eq!(reply(&mut r, &rules, b"ac"), Some(b"[|c]".to_vec()));
    }

    #[test]
    fn regex_matches_gbk_text_and_answers_in_gbk() {
        let mut rule = text("temp", regex(r"^温度(\d+)$"), "收到$1度");
        rule.encoding = TextEncoding::Gbk;
        let rules = set(vec![rule]);
        let mut r = responder();
        let message = TextEncoding::Gbk.encode("温度25\r\n").unwrap();
        let expected = TextEncoding::Gbk.encode("收到25度").unwrap();
        assert_eq!(reply(&mut r, &rules, &message), Some(expected));
        // The same text in UTF-8 is not GBK: no match.
        assert_eq!(reply(&mut r, &rules, "温度25".as_bytes()), None);
        // Exact text is encoded too.
        let mut rule = text("hi", exact("你好"), "好");
        rule.encoding = TextEncoding::Gb18030;
        let rules = set(vec![rule]);
        assert_eq!(
            reply(&mut r, &rules, &[0xC4, 0xE3, 0xBA, 0xC3, b'\n']),
            Some(vec![0xBA, 0xC3])
        );
        // Latin-1: every byte a character.
        let mut rule = text("l", regex(r"^caf(.)$"), "$1");
        rule.encoding = TextEncoding::Latin1;
        assert_eq!(
            reply(&mut r, &set(vec![rule]), b"caf\xe9"),
            Some(vec![0xe9])
        );
    }

    #[test]
    fn hex_patterns_capture_wildcards_and_replies_take_checksums() {
        let mut rule = Rule::new(
            "read",
            hex("01 03 ?? ?? 00 01 ?? ??"),
            ReplyBody::Hex("01 03 02 ${counter:u16}".into()),
        );
        rule.checksum = Some(Checksum::Crc16Modbus);
        let rules = set(vec![
            rule,
            Rule::new("echo-addr", hex("7e ?? *"), ReplyBody::Hex("7e $1".into())),
        ]);
        let mut r = responder();
        let request = [0x01, 0x03, 0x00, 0x10, 0x00, 0x01, 0x85, 0xCF];
        let first = reply(&mut r, &rules, &request).unwrap();
        assert_eq!(first[..5], [0x01, 0x03, 0x02, 0x00, 0x01]);
        assert_eq!(Checksum::Crc16Modbus.verify(&first), Some(true));
        let second = reply(&mut r, &rules, &request).unwrap();
        assert_eq!(second[3..5], [0x00, 0x02]);
        assert_eq!(reply(&mut r, &rules, &request[..7]), None);
        assert_eq!(
            reply(&mut r, &rules, &[0x7e, 0x42, 1, 2]),
            Some(vec![0x7e, 0x42])
        );
    }

    #[test]
    fn templates_fill_counter_time_and_message() {
        let rules = set(vec![text(
            "meas",
            exact("MEAS?"),
            "#${counter} ${time} ${counter:u8}\\x00$$ ${msg}",
        )]);
        let mut r = responder();
        assert_eq!(
            reply(&mut r, &rules, b"MEAS?\n"),
            Some(b"#1 2026-11-24T21:11:32+01:00 \x01\x00$ MEAS?\n".to_vec())
        );
        assert_eq!(
            reply(&mut r, &rules, b"MEAS?"),
            Some(b"#2 2026-11-24T21:11:32+01:00 \x02\x00$ MEAS?".to_vec())
        );
        // Counters are per connection.
        let mut other = Responder::new(2, Origin::Accepted, at(0));
        assert!(reply(&mut other, &rules, b"MEAS?")
            .unwrap()
            .starts_with(b"#1 "));
    }

    #[test]
    fn the_clock_is_asked_only_for_time() {
        let rules = set(vec![text("a", Trigger::Any, "x")]);
        let answer = responder().on_message(&rules, b"m", at(0), &|| panic!("not needed"));
        assert!(matches!(answer, Answer::Reply(_)));
    }

    #[test]
    fn replies_carry_their_delay_and_rule() {
        let mut rule = text("slow", Trigger::Any, "late");
        rule.delay_ms = 250;
        let rules = set(vec![rule]);
        assert_eq!(
            responder().on_message(&rules, b"x", at(0), &clock),
            Answer::Reply(Reply {
                rule: "slow".into(),
                bytes: b"late".to_vec(),
                delay: Duration::from_millis(250),
            })
        );
    }

    #[test]
    fn the_first_matching_rule_answers_and_once_rules_step_aside() {
        let mut login = text("login", Trigger::Any, "Password:");
        login.once = true;
        let mut off = text("off", Trigger::Any, "never");
        off.enabled = false;
        let rules = set(vec![
            login,
            off,
            text("idn", exact("*IDN?"), "ACME"),
            text("other", Trigger::Any, "ERR"),
        ]);
        let mut r = responder();
        assert_eq!(reply(&mut r, &rules, b"*IDN?"), Some(b"Password:".to_vec()));
        assert_eq!(reply(&mut r, &rules, b"*IDN?"), Some(b"ACME".to_vec()));
        assert_eq!(reply(&mut r, &rules, b"hello"), Some(b"ERR".to_vec()));
        // `once` is per connection.
        let mut other = Responder::new(2, Origin::Dialled, at(0));
        assert_eq!(reply(&mut other, &rules, b"x"), Some(b"Password:".to_vec()));
        assert_eq!(
            rules.hits(),
            [
                ("login".into(), 2),
                ("off".into(), 0),
                ("idn".into(), 1),
                ("other".into(), 1)
            ]
        );
    }

    #[test]
    fn greetings_come_on_connect_only() {
        let mut greeting = text("hello", Trigger::Connect, "Welcome #${counter}\\r\\n");
        greeting.scope = Scope::Accepted;
        let rules = set(vec![greeting, text("echo", Trigger::Any, "${msg}")]);
        let mut accepted = responder();
        assert_eq!(
            accepted.on_connect(&rules, at(0), &clock),
            Answer::Reply(Reply {
                rule: "hello".into(),
                bytes: b"Welcome #1\r\n".to_vec(),
                delay: Duration::ZERO,
            })
        );
        // A message never triggers a greeting; a connection opening never triggers the rest.
        assert_eq!(reply(&mut accepted, &rules, b"hi"), Some(b"hi".to_vec()));
        let mut dialled = Responder::new(2, Origin::Dialled, at(0));
        assert_eq!(dialled.on_connect(&rules, at(0), &clock), Answer::Nothing);
    }

    #[test]
    fn scopes_choose_connections() {
        let scoped = |id: &str, scope: Scope| {
            let mut rule = text(id, Trigger::Any, id);
            rule.scope = scope;
            rule
        };
        let rules = set(vec![
            scoped("conn7", Scope::Conn(7)),
            scoped("dialled", Scope::Dialled),
            scoped("accepted", Scope::Accepted),
        ]);
        let answer = |conn, origin| {
            reply(&mut Responder::new(conn, origin, at(0)), &rules, b"x").map(String::from_utf8)
        };
        assert_eq!(answer(7, Origin::Accepted), Some(Ok("conn7".into())));
        assert_eq!(answer(8, Origin::Accepted), Some(Ok("accepted".into())));
        assert_eq!(answer(8, Origin::Dialled), Some(Ok("dialled".into())));
        let only7 = set(vec![scoped("conn7", Scope::Conn(7))]);
        assert_eq!(
            reply(&mut Responder::new(8, Origin::Dialled, at(0)), &only7, b"x"),
            None
        );
    }

    #[test]
    fn the_rate_limit_holds_a_runaway_back_and_says_so_once() {
        let rules = set(vec![text("echo", Trigger::Any, "${msg}")]);
        let mut r = responder();
        let send = |r: &mut Responder, ms| r.on_message(&rules, b"x", at(ms), &clock);
        for _ in 0..BURST {
            assert!(matches!(send(&mut r, 0), Answer::Reply(_)));
        }
        assert_eq!(
            send(&mut r, 0),
            Answer::Limited {
                rule: "echo".into(),
                first: true,
                stops: false
            }
        );
        // Silent, and said only once, until the allowance has refilled: a second.
        for ms in [0, 100, 500, 999] {
            assert_eq!(
                send(&mut r, ms),
                Answer::Limited {
                    rule: "echo".into(),
                    first: false,
                    stops: false
                }
            );
        }
        assert!(matches!(send(&mut r, 1000), Answer::Reply(_)));
        // Replies at the sustained rate never hit it.
        let mut steady = responder();
        for i in 0..200 {
            assert!(
                matches!(send(&mut steady, i * 50), Answer::Reply(_)),
                "reply {i}"
            );
        }
        // Messages no rule answers cost nothing.
        let none = set(vec![text("never", exact("nope"), "x")]);
        let mut quiet = responder();
        for _ in 0..100 {
            assert_eq!(
                quiet.on_message(&none, b"x", at(0), &clock),
                Answer::Nothing
            );
        }
        assert_eq!(rules.hits(), [("echo".into(), 20 + 1 + 200)]);
    }

    #[test]
    fn counters_survive_a_new_rule_set() {
        let first = set(vec![text("n", Trigger::Any, "${counter}")]);
        let mut r = responder();
        reply(&mut r, &first, b"x");
        let second = set(vec![
            text("new", exact("y"), "new"),
            text("n", Trigger::Any, "${counter}"),
        ]);
        assert_eq!(reply(&mut r, &second, b"x"), Some(b"2".to_vec()));
        assert_eq!(second.hits()[1], ("n".into(), 1));
    }

    #[test]
    fn hits_survive_a_new_rule_set_for_the_rules_still_in_it() {
        let first = set(vec![text("a", exact("a"), "A"), text("b", exact("b"), "B")]);
        let mut r = responder();
        reply(&mut r, &first, b"a");
        reply(&mut r, &first, b"b");
        reply(&mut r, &first, b"b");
        // `a` switched off and moved after `b`; `c` is new.
        let mut off = text("a", exact("a"), "A");
        off.enabled = false;
        let second =
            RuleSet::compile(&[text("b", exact("b"), "B"), text("c", exact("c"), "C"), off])
                .unwrap()
                .keep_hits_of(&first);
        assert_eq!(
            second.hits(),
            [("b".into(), 2), ("c".into(), 0), ("a".into(), 1)]
        );
    }

    #[test]
    fn compile_errors_name_the_rule() {
        let error = |rules: Vec<Rule>| RuleSet::compile(&rules).unwrap_err().message;
        let broken = error(vec![text("bad", regex("(unclosed"), "x")]);
        let named =
            RuleSet::compile(&[text("ok", Trigger::Any, "x"), text("bad", regex("("), "x")]);
        assert_eq!(named.unwrap_err().rule.as_deref(), Some("bad"));
        // The reason first, then the pattern and the regex crate's pointer under the fault.
        assert_eq!(
            broken,
            "rule `bad`: its regex does not compile: unclosed group\n(unclosed\n^",
        );
        let unknown = error(vec![text("u", regex("ab\\qc"), "x")]);
        assert_eq!(
            unknown,
            "rule `u`: its regex does not compile: unrecognized escape sequence\nab\\qc\n  ^^"
        );
        assert_eq!(
            error(vec![text("g", regex("(a)(b)"), "$3")]),
            "rule `g`: its reply uses `$3`, but its regex has 2 groups"
        );
        assert_eq!(
            error(vec![text("n", regex("(?<volt>\\d+)"), "${amp}")]),
            "rule `n`: its reply uses `${amp}`, but its regex has no group named `amp`: \
             write `(?<amp>...)` around what it should capture"
        );
        let mut gbk = text("g2", regex("(a"), "x");
        gbk.encoding = TextEncoding::Gbk;
        assert!(error(vec![gbk]).starts_with("rule `g2`: its regex does not compile"));
        assert!(error(vec![text("e", exact(""), "x")]).starts_with("rule `e`:"));
        assert!(RuleSet::compile(&[]).unwrap().hits().is_empty());
        let rules = set(vec![text("a", Trigger::Any, "x")]);
        assert_eq!(rules.hits(), [("a".to_owned(), 0)]);
    }

    #[test]
    fn line_endings_come_off_once() {
        assert_eq!(without_line_ending(b"a\r\n"), b"a");
        assert_eq!(without_line_ending(b"a\n\n"), b"a\n");
        assert_eq!(without_line_ending(b"a\r"), b"a");
        assert_eq!(without_line_ending(b"a\n\r"), b"a\n");
        assert_eq!(without_line_ending(b""), b"");
    }

    fn passing(id: &str, way: Way, action: Action, trigger: Trigger, reply: ReplyBody) -> Rule {
        Rule {
            way: Some(way),
            action,
            ..Rule::new(id, trigger, reply)
        }
    }

    /// What a proxy's side going `way` does with `message`: the answer, settled.
    fn passing_answer(rules: &RuleSet, way: Way, message: &[u8]) -> Answer {
        let mut r = responder().watching(way);
        r.on_message(rules, message, at(0), &clock)
    }

    fn rewritten(answer: Answer) -> Vec<u8> {
        match answer {
            Answer::Rewrite(reply) => reply.bytes,
            other => panic!("not a rewrite: {other:?}"),
        }
    }

    #[test]
    fn rules_watch_their_way_and_ordinary_rules_stay_out_of_proxies() {
        use Way::*;
        let rules = set(vec![
            text("plain", exact("PING"), "PONG"),
            passing(
                "up",
                ClientToServer,
                Action::Answer,
                exact("PING"),
                ReplyBody::Text("UP".into()),
            ),
            passing(
                "down",
                ServerToClient,
                Action::Drop,
                exact("PING"),
                ReplyBody::default(),
            ),
        ]);
        assert!(rules.watches(ClientToServer) && rules.watches(ServerToClient));
        assert_eq!(
            reply(&mut responder(), &rules, b"PING"),
            Some(b"PONG".to_vec())
        );
        let Answer::Instead(up) = passing_answer(&rules, ClientToServer, b"PING") else {
            panic!("the client's PING is answered instead of forwarded");
        };
        assert_eq!((up.rule.as_str(), &up.bytes[..]), ("up", &b"UP"[..]));
        assert_eq!(
            passing_answer(&rules, ServerToClient, b"PING"),
            Answer::Drop {
                rule: "down".into()
            }
        );
        assert_eq!(
            passing_answer(&rules, ClientToServer, b"PONG"),
            Answer::Nothing
        );
        let ordinary = set(vec![text("plain", Trigger::Any, "x")]);
        assert!(!ordinary.watches(ClientToServer) && !ordinary.watches(ServerToClient));
        assert_eq!(
            passing_answer(&ordinary, ClientToServer, b"PING"),
            Answer::Nothing
        );
        let mut off = passing(
            "off",
            ClientToServer,
            Action::Drop,
            Trigger::Any,
            ReplyBody::default(),
        );
        off.enabled = false;
        assert!(
            !set(vec![off]).watches(ClientToServer),
            "a rule switched off watches nothing"
        );
    }

    #[test]
    fn a_rewrite_replaces_what_its_trigger_matched() {
        use Way::ClientToServer as Up;
        let rewrite = |trigger: Trigger, reply: ReplyBody| {
            set(vec![passing("w", Up, Action::Rewrite, trigger, reply)])
        };
        let to = |t: &str| ReplyBody::Text(t.into());
        // A regex: every match, its groups in each; the line ending stays.
        let rules = rewrite(regex("SET (\\d+)"), to("SET ${1}0"));
        assert_eq!(
            rewritten(passing_answer(&rules, Up, b"SET 5;SET 7\r\n")),
            b"SET 50;SET 70\r\n"
        );
        assert_eq!(passing_answer(&rules, Up, b"GET 5\n"), Answer::Nothing);
        // Contains: every occurrence.
        let rules = rewrite(Trigger::Contains { text: "ab".into() }, to("X"));
        assert_eq!(rewritten(passing_answer(&rules, Up, b"abcab!")), b"XcX!");
        // Exact keeps the line ending; prefix the rest; any replaces all.
        let rules = rewrite(exact("hello"), to("bye"));
        assert_eq!(rewritten(passing_answer(&rules, Up, b"hello\n")), b"bye\n");
        let rules = rewrite(Trigger::Prefix { text: "v1/".into() }, to("v2/"));
        assert_eq!(rewritten(passing_answer(&rules, Up, b"v1/x")), b"v2/x");
        let rules = rewrite(Trigger::Any, to("[${msg}]"));
        assert_eq!(rewritten(passing_answer(&rules, Up, b"m")), b"[m]");
        // Hex: the pattern's bytes, `??` runs as groups; what `*` stands for stays.
        let rules = rewrite(hex("01 ?? 00 *"), ReplyBody::Hex("02 $1 ff".into()));
        assert_eq!(
            rewritten(passing_answer(&rules, Up, &[1, 7, 0, 9, 9])),
            [2, 7, 0xff, 9, 9]
        );
        // An empty replacement deletes.
        let rules = rewrite(Trigger::Contains { text: "-".into() }, to(""));
        assert_eq!(rewritten(passing_answer(&rules, Up, b"1-2-3")), b"123");
    }

    #[test]
    fn a_rewrite_with_a_checksum_sets_the_old_one_aside_and_computes_it_afresh() {
        use Way::ClientToServer as Up;
        let mut rule = passing(
            "unit-2",
            Up,
            Action::Rewrite,
            hex("01 03 *"),
            ReplyBody::Hex("02 03".into()),
        );
        rule.checksum = Some(Checksum::Crc16Modbus);
        let rules = set(vec![rule]);
        let mut request = vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x02];
        Checksum::Crc16Modbus.append(&mut request);
        let out = rewritten(passing_answer(&rules, Up, &request));
        let mut expected = vec![0x02, 0x03, 0x00, 0x00, 0x00, 0x02];
        Checksum::Crc16Modbus.append(&mut expected);
        assert_eq!(out, expected);
        assert_eq!(Checksum::Crc16Modbus.verify(&out), Some(true));
        // Too short to hold a checksum: no match.
        assert_eq!(passing_answer(&rules, Up, &[1]), Answer::Nothing);
    }

    #[test]
    fn a_passing_answer_is_rate_limited_but_rewrites_and_drops_are_not() {
        use Way::ClientToServer as Up;
        let any = || Trigger::Any;
        let answer = set(vec![passing(
            "a",
            Up,
            Action::Answer,
            any(),
            ReplyBody::Text("x".into()),
        )]);
        let mut r = responder().watching(Up);
        for _ in 0..BURST {
            assert!(matches!(
                r.on_message(&answer, b"m", at(0), &clock),
                Answer::Instead(_)
            ));
        }
        assert_eq!(
            r.on_message(&answer, b"m", at(0), &clock),
            Answer::Limited {
                rule: "a".into(),
                first: true,
                stops: true
            }
        );
        let rewrite = set(vec![passing(
            "w",
            Up,
            Action::Rewrite,
            any(),
            ReplyBody::Text("y".into()),
        )]);
        let drop = set(vec![passing(
            "d",
            Up,
            Action::Drop,
            any(),
            ReplyBody::default(),
        )]);
        let mut r = responder().watching(Up);
        for _ in 0..BURST * 3 {
            assert!(matches!(
                r.on_message(&rewrite, b"m", at(0), &clock),
                Answer::Rewrite(_)
            ));
            assert!(matches!(
                r.on_message(&drop, b"m", at(0), &clock),
                Answer::Drop { .. }
            ));
        }
    }
}
