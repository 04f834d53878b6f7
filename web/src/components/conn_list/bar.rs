//! The head of the connection list: how many there are, how the user wants to see them (a
//! filter by address, state, who opened it or transport, closed ones hidden, the order), and
//! forgetting the closed ones, which asks first: it frees their history in the bridge, for every
//! page, and cannot be undone.

use protocol::size::grouped;
use protocol::Command;
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::bytes_view::size::plural;
use crate::hooks::commands::use_commands;
use crate::state::{Action, Counts, ListView, Sort};

#[derive(Properties, PartialEq)]
pub struct ListBarProps {
    pub counts: Counts,
    /// Rows the list shows now.
    pub shown: usize,
    pub list: ListView,
    /// Whether the bridge can be asked (the page's socket is open).
    pub online: bool,
}

/// `3 open · 40 in all`, and how many are shown when the list is narrowed.
pub fn summary(counts: Counts, shown: usize, narrowed: bool) -> String {
    let all = format!(
        "{} open · {} in all",
        grouped(counts.open as u64),
        grouped(counts.total() as u64)
    );
    if narrowed {
        format!("{} shown · {all}", grouped(shown as u64))
    } else {
        all
    }
}

/// What Forget closed asks: `Forget 3 closed connections and their history, in every page?`
pub fn forget_question(closed: u64) -> String {
    let whose = if closed == 1 { "its" } else { "their" };
    format!(
        "Forget {} and {whose} history, in every page?",
        plural(closed, "closed connection")
    )
}

#[component]
pub fn ListBar(props: &ListBarProps) -> Html {
    let commands = use_commands();
    let on_list = commands.dispatch.reform(Action::SetList);
    let list = &props.list;
    let change = |f: fn(&mut ListView, &Event)| {
        let (list, on_list) = (list.clone(), on_list.clone());
        Callback::from(move |e: Event| {
            let mut next = list.clone();
            f(&mut next, &e);
            on_list.emit(next);
        })
    };
    let on_query = {
        let (list, on_list) = (list.clone(), on_list.clone());
        Callback::from(move |e: InputEvent| {
            on_list.emit(ListView {
                query: e.target_unchecked_into::<HtmlInputElement>().value(),
                ..list.clone()
            })
        })
    };
    let on_hide =
        change(|l, e| l.hide_closed = e.target_unchecked_into::<HtmlInputElement>().checked());
    let on_sort = change(|l, e| {
        let label = e.target_unchecked_into::<HtmlSelectElement>().value();
        l.sort = Sort::from_label(&label).unwrap_or_default();
    });
    let closed = props.counts.closed as u64;
    let can_forget = props.online && closed > 0;
    // Forget closed, asked: its question is showing.
    let asking = use_state(|| false);
    let (forget, keep) = (use_node_ref(), use_node_ref());
    // The focus follows: to the safe answer when asked, back to the button when answered.
    {
        let (forget, keep) = (forget.clone(), keep.clone());
        let asked = use_mut_ref(|| false);
        use_effect_with(*asking, move |asking| {
            let to = match (*asking, asked.replace(*asking)) {
                (true, _) => Some(keep),
                (false, true) => Some(forget),
                // Not asked yet: the focus is not ours to move.
                (false, false) => None,
            };
            if let Some(el) = to.and_then(|to| to.cast::<HtmlElement>()) {
                let _ = el.focus();
            }
        });
    }
    let ask = {
        let asking = asking.clone();
        Callback::from(move |_: MouseEvent| asking.set(true))
    };
    let answer = |yes: bool| {
        let (asking, order) = (asking.clone(), commands.order.clone());
        Callback::from(move |_: MouseEvent| {
            if yes {
                order.emit(Command::ForgetClosed);
            }
            asking.set(false);
        })
    };
    let on_question_key = {
        let asking = asking.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                asking.set(false);
            }
        })
    };
    let forgetting = if *asking && can_forget {
        html! {
            <span class="forget-question" role="group" aria-label="Forget closed connections?"
                  onkeydown={on_question_key}>
                <span>{ forget_question(closed) }</span>
                { " " }
                <button type="button" class="danger" onclick={answer(true)}>{ "Forget them" }</button>
                { " " }
                <button ref={keep} type="button" onclick={answer(false)}>{ "Keep them" }</button>
            </span>
        }
    } else {
        html! {
            <button ref={forget} type="button" onclick={ask} disabled={!can_forget}
                    title="Drop the closed connections and their history, here, in the bridge and in every page (asks first)">
                { "Forget closed" }
            </button>
        }
    };
    html! {
        <div class="list-bar">
            <p class="conn-counts">
                if !props.online {
                    <span class="as-heard" title="The bridge is not reached: these are the counts it last gave">{ "When last heard of: " }</span>
                }
                { summary(props.counts, props.shown, list.narrowed()) }
            </p>
            <input type="search" aria-label="Filter connections" value={list.query.clone()}
                   oninput={on_query} placeholder="Filter: address, state, in/out, udp/tls" spellcheck="false" />
            <div class="list-options">
                <span class="control">
                    <input id="hide-closed" type="checkbox" checked={list.hide_closed} onchange={on_hide} />
                    <label for="hide-closed">{ "Hide closed" }</label>
                </span>
                <span class="control">
                    <label for="list-sort">{ "Sort" }</label>
                    <select id="list-sort" onchange={on_sort}>
                        { for Sort::ALL.iter().map(|s| html! {
                            <option value={s.label()} selected={*s == list.sort}>{ s.label() }</option>
                        }) }
                    </select>
                </span>
                { forgetting }
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_asks_in_a_sentence() {
        assert_eq!(
            forget_question(1),
            "Forget 1 closed connection and its history, in every page?"
        );
        assert_eq!(
            forget_question(3),
            "Forget 3 closed connections and their history, in every page?"
        );
    }

    #[test]
    fn the_summary_counts_open_all_and_shown() {
        let counts = Counts {
            connecting: 1,
            open: 9_000,
            closed: 1_000,
            unread: 0,
        };
        assert_eq!(summary(counts, 10_001, false), "9,000 open · 10,001 in all");
        assert_eq!(
            summary(counts, 12, true),
            "12 shown · 9,000 open · 10,001 in all"
        );
    }
}
