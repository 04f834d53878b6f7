//! A rule in the list: its switch, a line saying what it does, how often it answered, why the
//! bridge refused it (when the refusal names it), and its buttons.

use protocol::rules::Rule;
use yew::prelude::*;

use super::replies;
use crate::state::rule_draft::{reason_and_pointer, summary};

/// What a row's buttons do to the rule at their row.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Op {
    On,
    Off,
    Up,
    Down,
    Edit,
    Delete,
}

/// The row of the rule at `at` (of `n`), which sent `hits` replies; `off` while the bridge
/// cannot be asked.
pub fn rule_row(
    rule: &Rule,
    (at, n): (usize, usize),
    hits: u64,
    problem: Option<String>,
    off: bool,
    on_op: &Callback<(Op, usize)>,
) -> Html {
    let id = &rule.id;
    let label = if rule.name.is_empty() { id } else { &rule.name };
    let toggle = on_op.reform(move |e: Event| {
        let on = e
            .target_unchecked_into::<web_sys::HtmlInputElement>()
            .checked();
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
                    <span class="field-error" role="alert">
                        { reason_and_pointer(&why).0 }
                        if let Some(pointer) = reason_and_pointer(&why).1 {
                            <pre class="rule-pointer">{ pointer }</pre>
                        }
                    </span>
                }
            </div>
            <span class="rule-hits" title="Replies this rule has sent since the bridge started (or since it was added)">{ replies(hits) }</span>
            <span class="rule-buttons">
                { op_button(on_op, Op::Up, at, "↑", format!("Move {label} up"), off || at == 0) }
                { op_button(on_op, Op::Down, at, "↓", format!("Move {label} down"), off || at + 1 == n) }
                { op_button(on_op, Op::Edit, at, "Edit", format!("Edit {label}"), false) }
                { op_button(on_op, Op::Delete, at, "Delete", format!("Delete {label}"), off) }
            </span>
        </li>
    }
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
