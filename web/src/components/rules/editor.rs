//! One auto-reply rule's form: every field of a rule. Numbers that are not numbers are refused
//! here; the rest the bridge checks when the set is saved, and its refusal, which names the
//! rule, is shown here (a regex that does not compile, a reply that is not hex, ...).

use std::rc::Rc;

use protocol::rules::MAX_DELAY_MS;
use yew::prelude::*;

use crate::components::fields::{area, check, menu, text, OnField};
use crate::encoding::Encoding;
use crate::state::reading::{checksum_options, checksum_value};
use crate::state::rule_draft::{reason_and_pointer, RuleDraft, ACTIONS, SCOPES, TRIGGERS, WAYS};

const REPLY_KINDS: [(&str, &str); 2] = [("text", "Text"), ("hex", "Hex bytes")];

/// What the editor shows, besides the rule's fields.
pub struct EditorState<'a> {
    pub draft: &'a RuleDraft,
    /// Whether it is a rule not yet in force.
    pub new: bool,
    /// Why it was refused: by the form, or by the bridge.
    pub error: Option<&'a Rc<str>>,
    pub saving: bool,
    pub online: bool,
}

/// The form. `on` hears each field's changes; `on_save` and `on_cancel` its buttons.
pub fn rule_editor(
    e: EditorState,
    form: NodeRef,
    on: &OnField,
    on_save: Callback<()>,
    on_cancel: Callback<()>,
) -> Html {
    let d = e.draft;
    let encodings: Vec<_> = Encoding::ALL
        .iter()
        .map(|e| (e.label(), e.label()))
        .collect();
    let pattern = match d.trigger {
        "connect" | "any" => None,
        "regex" => Some("Pattern (its groups are $1, $2, ...)"),
        "hex" => Some("Bytes (?? any byte, * any further bytes)"),
        _ => Some("Text (escapes \\r \\n \\t \\0 \\\\ \\xHH)"),
    };
    let reply_hint = if d.reply_hex {
        "Hex bytes and placeholders, e.g. 01 03 02 ${counter:u16}"
    } else {
        "e.g. ACME,1000\\n (escapes \\r \\n \\xHH; $1, ${msg}, ${counter}, ${time})"
    };
    let reply_kind = if d.reply_hex { "hex" } else { "text" };
    let reply_label = if d.action == "rewrite" {
        "Replace with"
    } else {
        "Reply"
    };
    let mut rows = vec![
        vec![
            text("rule-id", "id", "Id", &d.id, on),
            text("rule-name", "name", "Name", &d.name, on),
            check("rule-enabled", "enabled", "On", d.enabled, on),
        ],
        vec![menu(
            "rule-trigger",
            "trigger",
            "When",
            d.trigger,
            &TRIGGERS,
            on,
        )],
        vec![
            menu("rule-way", "way", "Watches", d.way, &WAYS, on),
            menu("rule-action", "action", "Does", d.action, &ACTIONS, on),
        ],
        vec![
            menu(
                "rule-reply-kind",
                "reply-kind",
                "Reply with",
                reply_kind,
                &REPLY_KINDS,
                on,
            ),
            area("rule-reply", "reply", reply_label, &d.reply, reply_hint, on),
        ],
        vec![
            menu(
                "rule-checksum",
                "checksum",
                "Checksum",
                checksum_value(d.checksum),
                &checksum_options(),
                on,
            ),
            text(
                "rule-delay",
                "delay",
                &format!("Delay (ms, at most {MAX_DELAY_MS})"),
                &d.delay_ms,
                on,
            ),
            check("rule-once", "once", "Once per connection", d.once, on),
        ],
        vec![menu(
            "rule-scope",
            "scope",
            "Answers on",
            d.scope,
            &SCOPES,
            on,
        )],
    ];
    if let Some(label) = pattern {
        rows[1].push(text("rule-pattern", "pattern", label, &d.pattern, on));
    }
    if d.action == "drop" {
        // A drop sends nothing.
        rows[3].clear();
    }
    let (reason, pointer) = match e.error {
        Some(why) => {
            let (reason, pointer) = reason_and_pointer(why);
            (Some(reason), pointer)
        }
        None => (None, None),
    };
    if d.scope == "conn" {
        rows[5].push(text(
            "rule-conn",
            "conn",
            "Connection number",
            &d.scope_conn,
            on,
        ));
    }
    rows[5].push(menu(
        "rule-encoding",
        "encoding",
        "Encoding",
        d.encoding.label(),
        &encodings,
        on,
    ));
    let onsubmit = on_save.reform(|e: SubmitEvent| e.prevent_default());
    html! {
        <form ref={form} class="rule-editor" aria-label="Rule" {onsubmit} novalidate=true>
            <h3>{ if e.new { "New rule" } else { "Edit rule" } }</h3>
            { for rows.into_iter().enumerate().map(|(at, fields)| html! {
                <>
                    <div class="rule-fields">{ for fields }</div>
                    // Under the pattern: where the bridge found the fault in it.
                    if at == 1 {
                        if let Some(pointer) = pointer {
                            <pre class="rule-pointer" aria-label="Where the pattern fails">{ pointer }</pre>
                        }
                    }
                </>
            }) }
            <div class="rule-actions">
                <button type="submit" class="primary" disabled={!e.online || e.saving}>
                    { if e.saving { "Saving…" } else { "Save rule" } }
                </button>
                <button type="button" onclick={on_cancel.reform(|_: MouseEvent| ())}>{ "Cancel" }</button>
            </div>
            if let Some(reason) = reason {
                <p class="field-error" role="alert">{ reason }</p>
            }
        </form>
    }
}
