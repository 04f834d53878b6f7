//! The Device panel's content, for standing in for a device: how new connections are read (their
//! framing and checksum, which the bridge's `--framing` and `--checksum` set at start), and the
//! auto-reply rules in force, which open in their panel.

use protocol::ConnSettings;
use yew::prelude::*;

use crate::bytes_view::size::plural;
use crate::components::reading_form::{meaning, ReadingForm};
use crate::components::rules::replies;
use crate::state::reading::summary;

/// The section. `rules` counts the rules in force (those switched on). `reading` is whether the form for new connections' reading is open, and
/// `on_reading` opens or closes it.
pub fn device_section(
    defaults: &ConnSettings,
    (rules, replies_sent): (usize, u64),
    online: bool,
    (reading, on_reading): (bool, Callback<()>),
    on_rules: &Callback<()>,
) -> Html {
    html! {
        <section class="device-section" aria-label="Standing in for a device">
            <p class="device-line">
                <span class="label">{ "New connections" }</span>
                <button type="button" class="reading-toggle" aria-expanded={reading.to_string()}
                        onclick={on_reading.reform(|_: MouseEvent| ())}
                        title={format!("How the bridge reads connections that open from now on: {}",
                                       meaning(defaults, None, false))}>
                    { "Reading: " }{ summary(defaults) }
                </button>
            </p>
            if reading {
                <ReadingForm conn={None} settings={defaults.clone()} {online} on_close={on_reading} />
            }
            <p class="device-line">
                <span class="label">{ "Auto-reply" }</span>
                <button type="button" onclick={on_rules.reform(|_: MouseEvent| ())}
                        title={format!("{} in force (switched on); the dialog lists those off too", plural(rules as u64, "rule"))}>
                    { format!("Rules ({rules})") }
                </button>
                <span class="device-replies">{ replies(replies_sent) }</span>
            </p>
        </section>
    }
}
