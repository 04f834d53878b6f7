//! The auto-reply rules panel: the rules in force, in the order they are tried (the first that
//! matches answers), each with its switch, a line saying what it does, and how often it
//! answered; and the rule being added or edited. Every change sends the whole set
//! (`set_rules`), so the list always shows what the bridge has, never a copy; a set the bridge
//! refuses is shown at the rule it names. The rules in force download as a rules file, which
//! `--rules` reads.

mod editor;

use std::rc::Rc;

use protocol::rules::Rule;
use protocol::{ConnId, RuleHits};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use self::editor::{rule_editor, EditorState};
use crate::bytes_view::size::plural;
use crate::components::fields::OnField;
use crate::components::live::use_live;
use crate::state::rule_draft::{
    blank, moved, named_rule, summary, toggled, with_rule, without, RuleDraft,
};

#[derive(Properties, PartialEq)]
pub struct RulesPanelProps {
    /// The rules in force.
    pub rules: Vec<Rule>,
    pub hits: Vec<RuleHits>,
    /// Why the bridge refused the last set saved here.
    pub problem: Option<Rc<str>>,
    pub online: bool,
    /// A rule to edit at once, not yet in force (made from a message).
    pub draft: Option<Rule>,
    /// The conversation in view, for a rule that answers on one connection.
    pub selected: Option<ConnId>,
    pub default_encoding: crate::encoding::Encoding,
    /// Sends the whole rule set.
    pub on_save: Callback<Vec<Rule>, Result<(), String>>,
    pub on_close: Callback<()>,
}

/// The rule being edited.
#[derive(Clone, PartialEq)]
struct Editing {
    /// The id of the rule in force it changes; `None` for a new rule.
    was: Option<String>,
    draft: RuleDraft,
    /// Whether the caret starts in the reply (a rule made from a message).
    reply_first: bool,
    /// The form's own refusal, or the bridge's.
    error: Option<Rc<str>>,
    /// The rule sent, until it is in force or refused.
    saving: Option<Rule>,
}

impl Editing {
    fn new(rule: &Rule, was: Option<String>, selected: Option<ConnId>) -> Editing {
        let mut draft = RuleDraft::of(rule);
        if draft.scope_conn.is_empty() {
            draft.scope_conn = selected.map(|id| id.to_string()).unwrap_or_default();
        }
        Editing {
            was,
            draft,
            reply_first: false,
            error: None,
            saving: None,
        }
    }
}

/// What a row's buttons do to the rule at their row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    On,
    Off,
    Up,
    Down,
    Edit,
    Delete,
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

/// A row's button: `op` on the rule at `at`.
fn op_button(
    on: &Callback<(Op, usize)>,
    op: Op,
    at: usize,
    text: &str,
    label: String,
    off: bool,
) -> Html {
    let onclick = on.reform(move |_: MouseEvent| (op, at));
    let class = (op == Op::Delete).then_some("danger");
    html! { <button type="button" {class} aria-label={label} disabled={off} {onclick}>{ text.to_owned() }</button> }
}

#[component]
pub fn RulesPanel(props: &RulesPanelProps) -> Html {
    let editing = use_live(|| {
        props.draft.as_ref().map(|rule| Editing {
            reply_first: true,
            ..Editing::new(rule, None, props.selected)
        })
    });
    // Why a change made from the list did not go out.
    let list_error = use_state(|| None::<String>);
    let form = use_node_ref();
    // The editor opened: the caret goes to its first field, or to the reply left to write.
    {
        let (form, open) = (
            form.clone(),
            editing.get().map(|e| (e.was.clone(), e.reply_first)),
        );
        use_effect_with(open, move |open| {
            let field = match open {
                Some((_, true)) => "#rule-reply",
                _ => "#rule-id",
            };
            let found = form
                .cast::<web_sys::Element>()
                .and_then(|f| f.query_selector(field).ok()?);
            if let Some(el) = found.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        });
    }
    // The rule sent is in force: the editor's work is done. Refused: it says why.
    {
        let editing = editing.clone();
        let deps = (props.rules.clone(), props.problem.clone());
        use_effect_with(deps, move |(rules, problem)| {
            if let Some(e) = editing.get() {
                match (&e.saving, problem) {
                    (Some(sent), _) if rules.contains(sent) => editing.set(None),
                    (Some(_), Some(problem)) => editing.set(Some(Editing {
                        saving: None,
                        error: Some(problem.clone()),
                        ..e.clone()
                    })),
                    _ => {}
                }
            }
        });
    }
    let rules = &props.rules;
    let on_op = {
        let (rules, editing, list_error) = (rules.clone(), editing.clone(), list_error.clone());
        let (on_save, selected) = (props.on_save.clone(), props.selected);
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
        .map(|p| (named_rule(p).map(str::to_owned), p.to_owned()));
    let off = !props.online;
    let n = rules.len();
    let rows: Vec<Html> = rules
        .iter()
        .enumerate()
        .map(|(at, rule)| {
            let id = &rule.id;
            let label = if rule.name.is_empty() { id } else { &rule.name };
            let hits = props.hits.iter().find(|h| &h.rule == id).map_or(0, |h| h.hits);
            let problem = refused
                .as_ref()
                .filter(|(named, _)| named.as_ref() == Some(id))
                .map(|(_, why)| why.clone());
            let toggle = on_op.reform(move |e: Event| {
                let on = e.target_unchecked_into::<web_sys::HtmlInputElement>().checked();
                (if on { Op::On } else { Op::Off }, at)
            });
            html! {
                <li class={classes!("rule-row", (!rule.enabled).then_some("off"), problem.is_some().then_some("refused"))}
                    key={id.clone()}>
                    <input type="checkbox" checked={rule.enabled} onchange={toggle} disabled={off}
                           aria-label={format!("{label}: on")} title="On or off" />
                    <div class="rule-text">
                        <span class="rule-name">{ label }</span>
                        if !rule.name.is_empty() {
                            { " " }<code class="rule-id">{ id }</code>
                        }
                        <span class="rule-summary">{ summary(rule) }</span>
                        if let Some(why) = problem {
                            <span class="field-error" role="alert">{ why }</span>
                        }
                    </div>
                    <span class="rule-hits" title="Replies this rule has sent since the bridge started (or since it was added)">{ replies(hits) }</span>
                    <span class="rule-buttons">
                        { op_button(&on_op, Op::Up, at, "↑", format!("Move {label} up"), off || at == 0) }
                        { op_button(&on_op, Op::Down, at, "↓", format!("Move {label} down"), off || at + 1 == n) }
                        { op_button(&on_op, Op::Edit, at, "Edit", format!("Edit {label}"), false) }
                        { op_button(&on_op, Op::Delete, at, "Delete", format!("Delete {label}"), off) }
                    </span>
                </li>
            }
        })
        .collect();
    let editor = editing.get().map(|e| {
        let on: OnField = {
            let editing = editing.clone();
            // From the draft as it is now: two quick edits must not undo each other.
            Callback::from(move |(field, value)| {
                let Some(e) = editing.get() else { return };
                let mut draft = e.draft.clone();
                draft.set(field, value);
                editing.set(Some(Editing {
                    draft,
                    error: None,
                    ..e
                }))
            })
        };
        let on_save = {
            let (editing, rules) = (editing.clone(), rules.clone());
            let on_save = props.on_save.clone();
            Callback::from(move |()| {
                // What the fields hold now, even if the page has not drawn the last keystroke.
                let Some(e) = editing.get() else { return };
                let sent = e.draft.rule().and_then(|rule| {
                    let set = with_rule(&rules, e.was.as_deref(), rule.clone());
                    if set == rules {
                        // Nothing changed: nothing to wait for.
                        return Ok(None);
                    }
                    on_save.emit(set)?;
                    Ok(Some(rule))
                });
                if let Ok(None) = sent {
                    return editing.set(None);
                }
                let (saving, error) = match sent {
                    Ok(rule) => (rule, None),
                    Err(why) => (None, Some(why.into())),
                };
                editing.set(Some(Editing {
                    saving,
                    error,
                    ..e.clone()
                }));
            })
        };
        let on_cancel = {
            let editing = editing.clone();
            Callback::from(move |()| editing.set(None))
        };
        let state = EditorState {
            draft: &e.draft,
            new: e.was.is_none(),
            error: e.error.as_ref(),
            saving: e.saving.is_some(),
            online: props.online,
        };
        rule_editor(state, form.clone(), &on, on_save, on_cancel)
    });
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
                        { format!("{} in force · {}", plural(n as u64, "rule"), replies(total)) }
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
