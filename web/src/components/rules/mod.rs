//! The auto-reply rules panel: the rules in force, in the order they are tried (the first that
//! matches answers), each with its switch, a line saying what it does, and how often it
//! answered; and the rule being added or edited. Every change sends the whole set
//! (`set_rules`), so the list always shows what the bridge has, never a copy; a set the bridge
//! refuses is shown at the rule it names. A rule deleted can be put back (Undo). The rules in
//! force download as a rules file, which `--rules` reads; a bridge started with one saves them
//! to it (`save_rules`), else they last until it stops, and the panel says so. For the keyboard
//! the panel is a modal dialog (`modal.rs`); closing it while a rule's changes are not saved
//! asks first (Keep editing, or Discard).

mod editing;
mod editor;
mod learnt;
mod modal;
mod row;

use std::rc::Rc;

use protocol::rules::Rule;
use protocol::{Command, ConnId, ConnSettings, Problem, RuleHits};
use web_sys::HtmlElement;
use yew::prelude::*;

use self::editing::{editor, use_editing, Editing};
use self::learnt::learnt_section;
use self::modal::use_modal;
use self::row::{rule_row, Op};
use crate::hooks::commands::{new_request_id, use_commands};
use crate::hooks::device::DeviceCtx;
use crate::state::rule_draft::{blank, in_force, moved, restored, toggled, without};
use crate::state::{Action, Learning, RulesSave};

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
    /// The name of the bridge's rules file (`--rules`), which it saves to; `None` without one.
    pub rules_file: Option<AttrValue>,
    /// Where this page's last save to that file stands.
    pub save: RulesSave,
    /// A simulator learnt from a conversation, to review before it takes effect.
    pub learning: Learning,
    /// How new connections are read now.
    pub reading: ConnSettings,
    pub on_close: Callback<()>,
}

/// `1 reply`, `3 replies`.
pub fn replies(n: u64) -> String {
    match n {
        1 => "1 reply".into(),
        n => format!("{n} replies"),
    }
}

/// How the rules are kept: with a rules file, a button that saves them to it; without one, that
/// they last until the bridge stops (beside the download that keeps them).
fn keeping(
    file: Option<&AttrValue>,
    save: &RulesSave,
    off: bool,
    on_save: Callback<MouseEvent>,
) -> Html {
    match file {
        Some(name) => {
            let saving = matches!(save, RulesSave::Saving(_));
            let title = format!(
                "Write the rules in force to {name}, the rules file the bridge was started with \
                 (--rules), replacing what it holds (its comments too)"
            );
            html! {
                <button type="button" class="rules-save" onclick={on_save} disabled={off || saving} {title}>
                    { if saving { format!("Saving to {name}…") } else { format!("Save to {name}") } }
                </button>
            }
        }
        None => html! {
            <span class="rules-keep" title="Start the bridge with --rules FILE to save them to that file">
                { "These rules last until the bridge stops:" }
            </span>
        },
    }
}

/// What came of the last save to the rules file, while it holds.
fn saved(save: &RulesSave) -> Html {
    match save {
        RulesSave::Saved { file, rules } => html! {
            <p class="rules-saved" role="status">
                { format!("Saved to {file}: {}; the bridge starts with them from that file.", rules_held(*rules)) }
            </p>
        },
        RulesSave::Failed(why) => html! { <p class="field-error" role="alert">{ &**why }</p> },
        RulesSave::None | RulesSave::Saving(_) => html! {},
    }
}

/// `1 rule`, `3 rules`.
fn rules_held(n: u64) -> String {
    crate::bytes_view::size::plural(n, "rule")
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
    let dialog = use_node_ref();
    // What closing (Esc, Close) does, as of the last render: set below, once the rule being
    // edited is known.
    let close = use_mut_ref(Callback::<()>::noop);
    let on_close = {
        let close = close.clone();
        use_callback((), move |(), _| {
            let now = close.borrow().clone();
            now.emit(())
        })
    };
    // First, so that a field the editor opens with takes the focus after the dialog.
    use_modal(dialog.clone(), on_close.clone());
    let form = use_node_ref();
    let deps = (props.rules.clone(), props.problem.clone());
    let editing = use_editing(props.draft.clone(), props.selected, deps, form.clone());
    // Closing with a rule's changes not saved asks first: Esc must not lose typed work.
    let asking = use_state(|| false);
    let keep_editing = use_node_ref();
    {
        let keep_editing = keep_editing.clone();
        use_effect_with(*asking, move |asking| {
            if let (true, Some(button)) = (*asking, keep_editing.cast::<HtmlElement>()) {
                let _ = button.focus();
            }
        });
    }
    let on_keep_editing = {
        let (asking, form) = (asking.clone(), form.clone());
        Callback::from(move |()| {
            asking.set(false);
            let field = form
                .cast::<web_sys::Element>()
                .and_then(|f| f.query_selector("input, select, textarea").ok()?)
                .and_then(|el| wasm_bindgen::JsCast::dyn_into::<HtmlElement>(el).ok());
            if let Some(field) = field {
                let _ = field.focus();
            }
        })
    };
    *close.borrow_mut() = {
        let (editing, asking, on_close) = (editing.clone(), asking.clone(), props.on_close.clone());
        let on_keep_editing = on_keep_editing.clone();
        Callback::from(move |()| {
            if *asking {
                // Esc again: the question goes, the work stays.
                on_keep_editing.emit(());
            } else if editing.get().is_some_and(|e| e.changed()) {
                asking.set(true);
            } else {
                on_close.emit(());
            }
        })
    };
    // Why a change made from the list did not go out.
    let list_error = use_state(|| None::<String>);
    // The rule deleted last, and where it was: Undo puts it back.
    let deleted = use_state(|| None::<(Rule, usize)>);
    let undo = use_node_ref();
    // Deleted: the focus, which was on the row's button, goes to Undo.
    {
        let undo = undo.clone();
        use_effect_with(deleted.is_some(), move |shown| {
            if let (true, Some(undo)) = (*shown, undo.cast::<HtmlElement>()) {
                let _ = undo.focus();
            }
        });
    }
    // The editor closed (saved, or cancelled): its fields are gone, the focus goes to Add rule.
    let add = use_node_ref();
    {
        let (add, was_open) = (add.clone(), use_mut_ref(|| false));
        use_effect_with(editing.get().is_some(), move |open| {
            if was_open.replace(*open) && !*open {
                if let Some(add) = add.cast::<HtmlElement>() {
                    let _ = add.focus();
                }
            }
        });
    }
    // The last set sent from the list, until it is in force (or refused): a change made before
    // the bridge answers the one before builds on it, not on the set the list still shows.
    let sent = use_mut_ref(|| None::<Vec<Rule>>);
    {
        let sent = sent.clone();
        let deps = (props.rules.clone(), props.problem.clone());
        use_effect_with(deps, move |(rules, problem)| {
            let settled = problem.is_some() || sent.borrow().as_ref() == Some(rules);
            if settled {
                *sent.borrow_mut() = None;
            }
        });
    }
    let send = {
        let (sent, on_save) = (sent.clone(), commands.save_rules.clone());
        Callback::from(move |set: Vec<Rule>| {
            on_save.emit(set.clone())?;
            *sent.borrow_mut() = Some(set);
            Ok(())
        })
    };
    let rules = &props.rules;
    let on_op = {
        let (rules, editing, list_error) = (rules.clone(), editing.clone(), list_error.clone());
        let (send, sent, selected, deleted) =
            (send.clone(), sent.clone(), props.selected, deleted.clone());
        Callback::from(move |(op, at): (Op, usize)| {
            let Some(rule) = rules.get(at) else { return };
            let base = sent.borrow().clone().unwrap_or_else(|| rules.clone());
            // Gone already, by a change not yet in force.
            let Some(pos) = base.iter().position(|r| r.id == rule.id) else {
                return;
            };
            let set = match op {
                Op::Edit => {
                    return editing.set(Some(Editing::new(rule, Some(rule.id.clone()), selected)))
                }
                Op::On | Op::Off => toggled(&base, &rule.id, op == Op::On),
                Op::Up | Op::Down => moved(&base, pos, op == Op::Up),
                Op::Delete => without(&base, &rule.id),
            };
            let done = send.emit(set);
            let undone = (op == Op::Delete && done.is_ok()).then(|| (rule.clone(), pos));
            deleted.set(undone);
            list_error.set(done.err());
        })
    };
    let on_undo = {
        let (rules, deleted, list_error) = (rules.clone(), deleted.clone(), list_error.clone());
        let (send, sent, dialog) = (send.clone(), sent.clone(), dialog.clone());
        Callback::from(move |_: MouseEvent| {
            let Some((rule, at)) = (*deleted).clone() else {
                return;
            };
            let base = sent.borrow().clone().unwrap_or_else(|| rules.clone());
            list_error.set(send.emit(restored(&base, &rule, at)).err());
            deleted.set(None);
            // Undo goes away: the focus stays in the dialog.
            if let Some(dialog) = dialog.cast::<HtmlElement>() {
                let _ = dialog.focus();
            }
        })
    };
    let on_save_file = {
        let (command, dispatch) = (commands.command.clone(), commands.dispatch.clone());
        let list_error = list_error.clone();
        Callback::from(move |_: MouseEvent| {
            let request = new_request_id();
            dispatch.emit(Action::SavingRulesFile(request));
            let sent = command.emit(Command::SaveRules {
                request: Some(request),
            });
            list_error.set(sent.err());
        })
    };
    // The rules learnt go in force as any set edited here does, and new connections are read
    // as they were learnt for; what is learnt then leaves the panel.
    let device = use_context::<DeviceCtx>();
    let on_use_learnt = {
        let (send, dispatch, list_error) =
            (send.clone(), commands.dispatch.clone(), list_error.clone());
        let (learning, reading) = (props.learning.clone(), props.reading.clone());
        Callback::from(move |_: MouseEvent| {
            let Learning::Learnt(learnt) = &learning else {
                return;
            };
            let mut done = send.emit(learnt.rules.clone());
            if let (Ok(()), Some(device)) = (&done, &device) {
                if learnt.settings != reading {
                    done = device.configure.emit((None, None, learnt.settings.clone()));
                }
            }
            if done.is_ok() {
                dispatch.emit(Action::LearntDone);
            }
            list_error.set(done.err());
        })
    };
    let on_discard_learnt = commands.dispatch.reform(|_: MouseEvent| Action::LearntDone);
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
    let on_close_click = on_close.reform(|_: MouseEvent| ());
    let discard = asking.then(|| {
        let on_keep = on_keep_editing.reform(|_: MouseEvent| ());
        let on_discard = props.on_close.reform(|_: MouseEvent| ());
        html! {
            <div class="rules-discard" role="alert">
                <p>{ "This rule has changes not saved. Closing loses them." }</p>
                <button ref={keep_editing.clone()} type="button" class="primary" onclick={on_keep}>{ "Keep editing" }</button>
                <button type="button" class="danger" onclick={on_discard}>{ "Discard changes and close" }</button>
            </div>
        }
    });
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
            <section ref={dialog} class="rules-panel" role="dialog" aria-modal="true"
                     aria-labelledby="rules-title" tabindex="-1">
                <header class="rules-head">
                    <h2 id="rules-title">{ "Auto-reply rules" }</h2>
                    <span class="rules-count">
                        { format!("{} · {}", in_force(rules), replies(total)) }
                    </span>
                    { keeping(props.rules_file.as_ref(), &props.save, off, on_save_file) }
                    <a class="rules-download" href={rules_file_url()} download="rules.toml"
                       title="The rules in force as a rules file, for bridge --rules">{ "Download rules.toml" }</a>
                    <button type="button" onclick={on_close_click} aria-label="Close the rules">{ "Close" }</button>
                </header>
                { saved(&props.save) }
                <p class="rules-help">
                    { "The bridge answers peers by itself, even with no page open: for each message, the \
                       first rule that is on and matches replies. Put specific rules first." }
                </p>
                { learnt_section(&props.learning, (rules.len(), &props.reading), off, (on_use_learnt, on_discard_learnt)) }
                if let Some(why) = set_problem {
                    <p class="field-error" role="alert">{ why }</p>
                }
                if let Some((rule, _)) = &*deleted {
                    <p class="rules-undo" role="status">
                        { format!("Deleted {}. ", if rule.name.is_empty() { &rule.id } else { &rule.name }) }
                        <button ref={undo} type="button" onclick={on_undo} disabled={off}>{ "Undo" }</button>
                    </p>
                }
                if rules.is_empty() {
                    <p class="rules-empty">{ "No rules yet. Add one, or use “auto-reply…” on a received message." }</p>
                } else {
                    <ol class="rule-list" aria-label="Rules in force">{ for rows }</ol>
                }
                { for discard }
                if let Some(editor) = editor {
                    { editor }
                } else {
                    <button ref={add} type="button" class="primary add-rule" onclick={on_add} disabled={off}>
                        { "Add rule" }
                    </button>
                }
            </section>
        </div>
    }
}
