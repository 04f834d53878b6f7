//! A simulator learnt from a conversation (*Make a simulator from this conversation*), at the
//! head of the rules panel: what the bridge learnt, as `bridge learn` would write it, for the
//! user to review. Nothing of it is in force until *Use these rules*, which sets it as any
//! edited rule set is set, and reads new connections as the rules were learnt for; *Discard*
//! forgets it.

use protocol::ConnSettings;
use yew::prelude::*;

use crate::bytes_view::size::{format_size, plural};
use crate::state::rule_draft::summary;
use crate::state::{Learning, Learnt};

/// The learnt set's section, or what stands in for it while it is asked or when it failed;
/// nothing when none was asked. `in_force` counts the rules it would replace, `reading` is
/// how new connections are read now.
pub fn learnt_section(
    learning: &Learning,
    (in_force, reading): (usize, &ConnSettings),
    off: bool,
    (on_use, on_discard): (Callback<MouseEvent>, Callback<MouseEvent>),
) -> Html {
    let learnt = match learning {
        Learning::None => return html! {},
        Learning::Asking { conn, .. } => {
            return html! {
                <p class="learnt" role="status">{ format!("Learning a simulator from conversation {conn}…") }</p>
            }
        }
        Learning::Failed(why) => {
            return html! {
                <div class="learnt" role="alert">
                    <p class="field-error">{ &**why }</p>
                    <button type="button" onclick={on_discard}>{ "Dismiss" }</button>
                </div>
            }
        }
        Learning::Learnt(learnt) => learnt,
    };
    let Learnt {
        conn,
        rules,
        settings,
        summary: what,
        elided,
    } = &**learnt;
    let reads = (settings != reading).then(|| {
        format!(
            ", and reads new connections as {} (as they are read now: {})",
            settings.framing, reading.framing
        )
    });
    let rows = rules.iter().map(|rule| {
        html! {
            <li class="rule-row" key={rule.id.clone()}>
                <div class="rule-text">
                    <span class="rule-name">{ if rule.name.is_empty() { &rule.id } else { &rule.name } }</span>
                    { " " }<code class="rule-id">{ &rule.id }</code>
                    <span class="rule-summary">{ summary(rule) }</span>
                </div>
            </li>
        }
    });
    html! {
        <section class="learnt" aria-label="Learnt rules">
            <p role="status">
                { format!("Learnt from conversation {conn}: {what}. Not in force: review them, then ") }
                <strong>{ "Use these rules" }</strong>
                { format!(" replaces the {} in force{}.", plural(in_force as u64, "rule"), reads.unwrap_or_default()) }
            </p>
            if let Some((msgs, bytes)) = elided {
                <p class="learnt-elided">
                    { format!(
                        "The bridge no longer held the first {} ({}) of this conversation: nothing \
                         was learnt from them. The transcript has them: bridge learn learns from it.",
                        plural(*msgs, "message"),
                        format_size(*bytes)
                    ) }
                </p>
            }
            <ol class="rule-list" aria-label="Learnt rules, not in force">{ for rows }</ol>
            <p class="learnt-buttons">
                <button type="button" class="primary" onclick={on_use} disabled={off}>{ "Use these rules" }</button>
                <button type="button" onclick={on_discard}>{ "Discard" }</button>
            </p>
        </section>
    }
}
