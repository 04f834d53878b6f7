//! The auto-reply rules panel: the rules in force, in the order they are tried (the first that
//! matches answers), each with its switch, a line saying what it does, and how often it
//! answered; and the rule being added or edited. Every change sends the whole set
//! (`set_rules`), so the list always shows what the bridge has, never a copy; a set the bridge
//! refuses is shown at the rule it names. The rules in force download as a rules file, which
//! `--rules` reads.

mod editing;
mod editor;
mod row;

use std::rc::Rc;

use protocol::rules::Rule;
use protocol::{ConnId, Problem, RuleHits};
use yew::prelude::*;

use self::editing::{editor, use_editing, Editing};
use self::row::{rule_row, Op};
use crate::hooks::commands::use_commands;
use crate::state::rule_draft::{blank, in_force, moved, toggled, without};

#[derive(Properties, PartialEq)]
pub struct RulesPanelProps {
    /// The rules in force.
    pub rules: Vec<Rule>,
    pub hits: Vec<RuleHits>,
    /// Why the bridge refused the last set saved here, and the rule it names.
    pub problem: Option<Rc<Problem>>,
    pub online: bool,
    /// A rule to edit at once, not yet in force (made from a message).
    pub draft: Option<Rule>,
    /// The conversation in view, for a rule that answers on one connection.
    pub selected: Option<ConnId>,
    pub default_encoding: crate::encoding::Encoding,
    pub on_close: Callback<()>,
}

/// `1 reply`, `3 replies`.
pub fn replies(n: u64) -> String {
    match n {
        1 => "1 reply".into(),
        n => format!("{n} replies"),
    }
}

/// `rules.toml` at the bridge, with the page's access token when it has one.
fn rules_file_url() -> String {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    format!("/rules.toml{query}")
}

#[component]
pub fn RulesPanel(props: &RulesPanelProps) -> Html {
    let commands = use_commands();
    let form = use_node_ref();
    let deps = (props.rules.clone(), props.problem.clone());
    let editing = use_editing(props.draft.clone(), props.selected, deps, form.clone());
    // Why a change made from the list did not go out.
    let list_error = use_state(|| None::<String>);
    let rules = &props.rules;
    let on_op = {
        let (rules, editing, list_error) = (rules.clone(), editing.clone(), list_error.clone());
        let (on_save, selected) = (commands.save_rules.clone(), props.selected);
        Callback::from(move |(op, at): (Op, usize)| {
            let Some(rule) = rules.get(at) else { return };
            let set = match op {
                Op::On | Op::Off => toggled(&rules, &rule.id, op == Op::On),
                Op::Up | Op::Down => moved(&rules, at, op == Op::Up),
                Op::Delete => without(&rules, &rule.id),
                Op::Edit => {
                    return editing.set(Some(Editing::new(rule, Some(rule.id.clone()), selected)))
                }
            };
            list_error.set(on_save.emit(set).err());
        })
    };
    // The rule the bridge's refusal names, when the editor is not where it shows.
    let refused = props
        .problem
        .as_deref()
        .filter(|_| editing.get().is_none())
        .map(|p| (p.rule.clone(), p.message.clone()));
    let off = !props.online;
    let n = rules.len();
    let rows = rules.iter().enumerate().map(|(at, rule)| {
        let hits = props.hits.iter().find(|h| h.rule == rule.id);
        let problem = refused
            .as_ref()
            .filter(|(named, _)| named.as_ref() == Some(&rule.id))
            .map(|(_, why)| why.clone());
        rule_row(
            rule,
            (at, n),
            hits.map_or(0, |h| h.hits),
            problem,
            off,
            &on_op,
        )
    });
    let rows: Vec<Html> = rows.collect();
    let editor = editor(&editing, rules, &commands.save_rules, props.online, form);
    let on_add = {
        let (editing, rules, selected) = (editing.clone(), rules.clone(), props.selected);
        let encoding = props.default_encoding;
        Callback::from(move |_: MouseEvent| {
            editing.set(Some(Editing::new(&blank(&rules, encoding), None, selected)));
        })
    };
    let on_close = props.on_close.reform(|_: MouseEvent| ());
    let onkeydown = {
        let on_close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                on_close.emit(());
            }
        })
    };
    let total: u64 = props.hits.iter().map(|h| h.hits).sum();
    // A refusal that names no rule in the list, or a change that did not go out.
    let set_problem = refused
        .filter(|(named, _)| {
            !named
                .as_ref()
                .is_some_and(|id| rules.iter().any(|r| &r.id == id))
        })
        .map(|(_, why)| why)
        .or_else(|| (*list_error).clone());
    html! {
        <div class="rules-backdrop">
            <section class="rules-panel" role="dialog" aria-modal="true" aria-labelledby="rules-title" {onkeydown}>
                <header class="rules-head">
                    <h2 id="rules-title">{ "Auto-reply rules" }</h2>
                    <span class="rules-count">
                        { format!("{} · {}", in_force(rules), replies(total)) }
                    </span>
                    <a class="rules-download" href={rules_file_url()} download="rules.toml"
                       title="The rules in force as a rules file, for bridge --rules">{ "Download rules.toml" }</a>
                    <button type="button" onclick={on_close} aria-label="Close the rules">{ "Close" }</button>
                </header>
                <p class="rules-help">
                    { "The bridge answers peers by itself, even with no page open: for each message, the \
                       first rule that is on and matches replies. Put specific rules first." }
                </p>
                if let Some(why) = set_problem {
                    <p class="field-error" role="alert">{ why }</p>
                }
                if rules.is_empty() {
                    <p class="rules-empty">{ "No rules yet. Add one, or use “auto-reply…” on a received message." }</p>
                } else {
                    <ol class="rule-list" aria-label="Rules in force">{ for rows }</ol>
                }
                if let Some(editor) = editor {
                    { editor }
                } else {
                    <button type="button" class="primary add-rule" onclick={on_add} disabled={off}>
                        { "Add rule" }
                    </button>
                }
            </section>
        </div>
    }
}
