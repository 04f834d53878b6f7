//! The head of the connection list: how many there are, and how the user wants to see them
//! (a filter by address, state, who opened it or transport, closed ones hidden, the order).

use protocol::size::grouped;
use protocol::Command;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

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
    html! {
        <div class="list-bar">
            <p class="conn-counts">{ summary(props.counts, props.shown, list.narrowed()) }</p>
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
                <button type="button" onclick={commands.order.reform(|_: MouseEvent| Command::ForgetClosed)}
                        disabled={!props.online || props.counts.closed == 0}
                        title="Drop the closed connections and their history, here, in the bridge and in every page">
                    { "Forget closed" }
                </button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
