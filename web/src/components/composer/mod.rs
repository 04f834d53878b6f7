//! The composer: type a message, choose its line ending, send it to one peer or to all.
//!
//! Enter sends, Shift+Enter starts a new line, Up and Down walk the messages sent before (when
//! the caret is on the first or last line, so that they still move the caret in a long message).

use std::cell::Cell;
use std::rc::Rc;

use gloo::timers::callback::Interval;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::bytes_view::compose::{compose_escaped, compose_text_in, LineEnding};
use crate::bytes_view::hex::parse_hex;
use crate::encoding::Encoding;

/// How many sent messages Up can recall.
const HISTORY_LEN: usize = 100;
/// Saved quick messages kept, and where the browser keeps them.
const QUICK_MAX: usize = 12;
const QUICK_KEY: &str = "tcp-bridge.quick-messages";

/// Bounds of the repeat-send interval, in milliseconds.
const MIN_REPEAT_MS: u32 = 10;
const MAX_REPEAT_MS: u32 = 86_400_000;

/// Where the composer sends, as far as the composer needs to know.
#[derive(Clone, Debug, PartialEq)]
pub struct SendTarget {
    pub id: protocol::ConnId,
    pub peer: String,
    pub open: bool,
    /// How the conversation's text is written.
    pub encoding: Encoding,
}

#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// The selected connection, if any.
    pub target: Option<SendTarget>,
    /// How many connections are open (for "Send to all").
    pub open_count: usize,
    /// Whether the page's socket to the bridge is open.
    pub online: bool,
    pub on_send: Callback<(protocol::Target, Vec<u8>), Result<(), String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InputMode {
    Text,
    Hex,
}

/// Messages sent before, and where Up/Down have got to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    items: Vec<String>,
    /// The item being shown, while walking the history.
    pos: Option<usize>,
    /// What was in the composer before walking started, restored by walking past the newest.
    draft: String,
}

impl History {
    pub fn push(&mut self, text: &str) {
        self.pos = None;
        self.draft.clear();
        if text.is_empty() || self.items.last().is_some_and(|last| last == text) {
            return;
        }
        self.items.push(text.to_string());
        if self.items.len() > HISTORY_LEN {
            self.items.remove(0);
        }
    }

    /// The text to show after Up, if there is an older message.
    pub fn up(&mut self, current: &str) -> Option<String> {
        let next = match self.pos {
            None if self.items.is_empty() => return None,
            None => {
                self.draft = current.to_string();
                self.items.len() - 1
            }
            Some(0) => return None,
            Some(i) => i - 1,
        };
        self.pos = Some(next);
        Some(self.items[next].clone())
    }

    /// The text to show after Down, if walking the history.
    pub fn down(&mut self) -> Option<String> {
        let i = self.pos?;
        if i + 1 < self.items.len() {
            self.pos = Some(i + 1);
            Some(self.items[i + 1].clone())
        } else {
            self.pos = None;
            Some(std::mem::take(&mut self.draft))
        }
    }

    /// The user typed: they are editing, no longer walking.
    pub fn edited(&mut self) {
        self.pos = None;
    }
}

/// Whether the caret (a UTF-16 offset, as the DOM gives it) is on the first line of `text`.
pub fn on_first_line(text: &str, caret: u32) -> bool {
    !text
        .encode_utf16()
        .take(caret as usize)
        .any(|u| u == u16::from(b'\n'))
}

/// Whether the caret (a UTF-16 offset) is on the last line of `text`.
pub fn on_last_line(text: &str, caret: u32) -> bool {
    !text
        .encode_utf16()
        .skip(caret as usize)
        .any(|u| u == u16::from(b'\n'))
}

/// Why the composer cannot send now, if it cannot.
fn blocked(props: &ComposerProps, to_all: bool) -> Option<String> {
    if !props.online {
        return Some("Not connected to the bridge.".into());
    }
    if to_all {
        return (props.open_count == 0).then(|| "No connection is open.".into());
    }
    match &props.target {
        None => Some("Select an open connection, or tick “Send to all”.".into()),
        Some(t) if !t.open => Some(format!("{} is not open.", t.peer)),
        Some(_) => None,
    }
}

#[component]
pub fn Composer(props: &ComposerProps) -> Html {
    let text = use_state(String::new);
    let ending = use_state(LineEnding::default);
    let mode = use_state(|| InputMode::Text);
    let to_all = use_state(|| false);
    let escapes = use_state(|| false);
    let error = use_state(|| None::<String>);
    let history = use_mut_ref(History::default);
    let quick = use_state(load_quick);
    // Repeat-send: the interval typed, and while running, the timer and how many went out.
    let every = use_state(|| "1000".to_string());
    let repeating = use_state(|| None::<Rc<Interval>>);
    let repeats = use_state(|| 0u64);

    // A repeat stops when there is no longer anyone to send to.
    {
        let repeating = repeating.clone();
        let reachable = if *to_all {
            props.open_count > 0
        } else {
            props.target.as_ref().is_some_and(|t| t.open)
        } && props.online;
        use_effect_with(reachable, move |reachable| {
            if !*reachable && repeating.is_some() {
                repeating.set(None);
            }
        });
    }
    let blocked = blocked(props, *to_all);
    let disabled = blocked.is_some();

    // What the composer holds, as bytes and where they go; or nothing, with the reason shown.
    let prepare = {
        let text = text.clone();
        let ending = ending.clone();
        let mode = mode.clone();
        let to_all = to_all.clone();
        let escapes = escapes.clone();
        let error = error.clone();
        let target = props.target.as_ref().map(|t| t.id);
        let encoding = props
            .target
            .as_ref()
            .map(|t| t.encoding)
            .unwrap_or_default();
        move || -> Option<(protocol::Target, Vec<u8>)> {
            if disabled {
                return None;
            }
            let bytes = match *mode {
                InputMode::Text => match if *escapes {
                    compose_escaped(&text, *ending, encoding)
                } else {
                    compose_text_in(&text, *ending, encoding)
                } {
                    Ok(bytes) => bytes,
                    Err(msg) => {
                        error.set(Some(msg));
                        return None;
                    }
                },
                InputMode::Hex => match parse_hex(&text) {
                    Ok(bytes) => bytes,
                    Err(msg) => {
                        error.set(Some(msg));
                        return None;
                    }
                },
            };
            if bytes.is_empty() {
                return None;
            }
            let to = match (*to_all, target) {
                (true, _) => protocol::Target::All,
                (false, Some(id)) => protocol::Target::Conn(id),
                (false, None) => return None,
            };
            Some((to, bytes))
        }
    };
    let send = {
        let prepare = prepare.clone();
        let text = text.clone();
        let error = error.clone();
        let history = history.clone();
        let on_send = props.on_send.clone();
        move || {
            let Some((to, bytes)) = prepare() else {
                return;
            };
            match on_send.emit((to, bytes)) {
                Ok(()) => {
                    history.borrow_mut().push(&text);
                    text.set(String::new());
                    error.set(None);
                }
                Err(msg) => error.set(Some(msg)),
            }
        }
    };
    let onsubmit = {
        let send = send.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            send();
        })
    };
    let onkeydown = {
        let text = text.clone();
        let history = history.clone();
        Callback::from(move |e: KeyboardEvent| {
            // While an input method is composing (Chinese, Japanese, ...), Enter and the arrows
            // belong to it.
            if e.is_composing() || e.key_code() == 229 {
                return;
            }
            let area = e.target_unchecked_into::<HtmlTextAreaElement>();
            let value = area.value();
            match e.key().as_str() {
                "Enter" if !e.shift_key() => {
                    e.prevent_default();
                    send();
                }
                "ArrowUp" => {
                    let caret = area.selection_start().ok().flatten().unwrap_or(0);
                    if value.is_empty() || on_first_line(&value, caret) {
                        if let Some(older) = history.borrow_mut().up(&value) {
                            e.prevent_default();
                            text.set(older);
                        }
                    }
                }
                "ArrowDown" => {
                    let caret = area.selection_end().ok().flatten().unwrap_or(0);
                    if value.is_empty() || on_last_line(&value, caret) {
                        if let Some(newer) = history.borrow_mut().down() {
                            e.prevent_default();
                            text.set(newer);
                        }
                    }
                }
                _ => {}
            }
        })
    };
    let oninput = {
        let text = text.clone();
        let history = history.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            history.borrow_mut().edited();
            error.set(None);
            text.set(e.target_unchecked_into::<HtmlTextAreaElement>().value());
        })
    };
    let on_ending = {
        let ending = ending.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            ending.set(LineEnding::from_label(&value).unwrap_or_default());
        })
    };
    let on_mode = {
        let mode = mode.clone();
        let error = error.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            mode.set(if value == "hex" {
                InputMode::Hex
            } else {
                InputMode::Text
            });
            error.set(None);
        })
    };
    let on_escapes = {
        let escapes = escapes.clone();
        let error = error.clone();
        Callback::from(move |e: Event| {
            escapes.set(e.target_unchecked_into::<HtmlInputElement>().checked());
            error.set(None);
        })
    };
    let on_every = {
        let every = every.clone();
        Callback::from(move |e: InputEvent| {
            every.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_repeat = {
        let prepare = prepare.clone();
        let every = every.clone();
        let repeating = repeating.clone();
        let repeats = repeats.clone();
        let error = error.clone();
        let on_send = props.on_send.clone();
        Callback::from(move |_: MouseEvent| {
            if repeating.is_some() {
                repeating.set(None); // dropping the interval stops it
                return;
            }
            let ms = match every.trim().parse::<u32>() {
                Ok(ms) if (MIN_REPEAT_MS..=MAX_REPEAT_MS).contains(&ms) => ms,
                _ => {
                    error.set(Some(format!(
                        "Repeat every {MIN_REPEAT_MS} to {MAX_REPEAT_MS} ms: a whole number of milliseconds."
                    )));
                    return;
                }
            };
            let Some((to, bytes)) = prepare() else {
                return;
            };
            let sent = Rc::new(Cell::new(0u64));
            let send_once = {
                let (on_send, repeating, repeats, error) = (
                    on_send.clone(),
                    repeating.clone(),
                    repeats.clone(),
                    error.clone(),
                );
                move || match on_send.emit((to, bytes.clone())) {
                    Ok(()) => {
                        sent.set(sent.get() + 1);
                        repeats.set(sent.get());
                    }
                    Err(msg) => {
                        error.set(Some(format!("Repeat stopped: {msg}")));
                        repeating.set(None);
                    }
                }
            };
            send_once();
            repeating.set(Some(Rc::new(Interval::new(ms, send_once))));
        })
    };
    let on_save_quick = {
        let quick = quick.clone();
        let text = text.clone();
        Callback::from(move |_: MouseEvent| {
            let list = add_quick(&quick, &text);
            store_quick(&list);
            quick.set(list);
        })
    };
    let quick_items = quick.iter().enumerate().map(|(i, saved)| {
        let use_it = {
            let text = text.clone();
            let saved = saved.clone();
            Callback::from(move |_: MouseEvent| text.set(saved.clone()))
        };
        let remove = {
            let quick = quick.clone();
            Callback::from(move |_: MouseEvent| {
                let mut list = (*quick).clone();
                list.remove(i);
                store_quick(&list);
                quick.set(list);
            })
        };
        html! {
            <li class="quick-item">
                <button type="button" class="quick-use" onclick={use_it} title="Put it in the composer">{ saved }</button>
                <button type="button" class="quick-remove" onclick={remove}
                        aria-label={format!("Remove the saved message {saved}")}>{ "×" }</button>
            </li>
        }
    });
    let on_all = {
        let to_all = to_all.clone();
        Callback::from(move |e: Event| {
            to_all.set(e.target_unchecked_into::<HtmlInputElement>().checked());
        })
    };

    let hex = *mode == InputMode::Hex;
    let placeholder = match (&blocked, hex, *to_all, &props.target) {
        (Some(_), ..) => String::new(),
        (None, true, _, _) => {
            "Bytes in hex, e.g. 48 65 6c 6c 6f 0d 0a — sent exactly as typed".into()
        }
        (None, false, true, _) => {
            "Message to every open connection — Enter sends, Shift+Enter for a new line".into()
        }
        (None, false, false, Some(t)) => format!(
            "Message to {} — Enter sends, Shift+Enter for a new line",
            t.peer
        ),
        (None, false, false, None) => String::new(),
    };
    let hint = match (&*error, &blocked) {
        (Some(msg), _) => {
            html! { <p class="composer-hint error" id="composer-hint" role="alert">{ msg }</p> }
        }
        (None, Some(why)) => html! { <p class="composer-hint" id="composer-hint">{ why }</p> },
        (None, None) => html! {},
    };
    let described = (error.is_some() || blocked.is_some()).then_some("composer-hint");

    html! {
        <form class="composer" aria-label="Send" {onsubmit}>
            <textarea aria-label="Message" rows="2" value={(*text).clone()} {oninput} {onkeydown}
                      {placeholder} {disabled} spellcheck="false" aria-describedby={described}
                      aria-invalid={error.is_some().then_some("true")} />
            <div class="composer-controls">
                <span class="control">
                    <label for="input-mode">{ "Input" }</label>
                    <select id="input-mode" onchange={on_mode}>
                        <option value="text" selected={!hex}>{ "Text" }</option>
                        <option value="hex" selected={hex}>{ "Hex" }</option>
                    </select>
                </span>
                <span class="control">
                    <label for="line-ending">{ "Line ending" }</label>
                    <select id="line-ending" onchange={on_ending} disabled={hex}
                            title={hex.then_some("Hex input is sent exactly as typed")}>
                        { for LineEnding::ALL.iter().map(|e| html! {
                            <option value={e.label()} selected={*e == *ending}>{ e.label() }</option>
                        }) }
                    </select>
                </span>
                <span class="control" title={r"\r \n \t \0 \\ and \xHH in the text stand for their bytes"}>
                    <input id="escapes" type="checkbox" checked={*escapes} onchange={on_escapes}
                           disabled={hex} />
                    <label for="escapes">{ "Escapes (\\r \\n \\xHH)" }</label>
                </span>
                <span class="control">
                    <input id="send-all" type="checkbox" checked={*to_all} onchange={on_all} />
                    <label for="send-all">{ "Send to all" }</label>
                </span>
                <span class="control repeat">
                    <label for="repeat-every">{ "Every" }</label>
                    <input id="repeat-every" type="text" inputmode="numeric" size="5"
                           value={(*every).clone()} oninput={on_every}
                           disabled={repeating.is_some()} />
                    <span class="unit" aria-hidden="true">{ "ms" }</span>
                    <button type="button" onclick={on_repeat}
                            class={classes!(repeating.is_some().then_some("danger"))}
                            disabled={disabled && repeating.is_none()}>
                        { if repeating.is_some() { format!("Stop repeating ({} sent)", *repeats) } else { "Repeat".to_string() } }
                    </button>
                </span>
                <button type="submit" class="primary" {disabled}>{ "Send" }</button>
            </div>
            <div class="quick">
                <button type="button" onclick={on_save_quick} disabled={text.trim().is_empty()}
                        title="Keep this message in this browser, one click away">{ "Save message" }</button>
                <ul class="quick-list" aria-label="Saved messages">{ for quick_items }</ul>
            </div>
            { hint }
        </form>
    }
}

/// `text` added to the saved messages, newest first, without duplicates, at most [`QUICK_MAX`].
fn add_quick(list: &[String], text: &str) -> Vec<String> {
    if text.trim().is_empty() {
        return list.to_vec();
    }
    let mut out = vec![text.to_string()];
    out.extend(list.iter().filter(|s| *s != text).cloned());
    out.truncate(QUICK_MAX);
    out
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load_quick() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(QUICK_KEY).ok()?)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn store_quick(list: &[String]) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(list)) {
        let _ = storage.set_item(QUICK_KEY, &json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_messages_are_newest_first_unique_and_few() {
        let list = add_quick(&[], "AT");
        let list = add_quick(&list, "ATI");
        assert_eq!(add_quick(&list, "AT"), ["AT", "ATI"]);
        assert_eq!(add_quick(&list, "  "), list);
        let many = (0..20).fold(Vec::new(), |l, i| add_quick(&l, &i.to_string()));
        assert_eq!(many.len(), QUICK_MAX);
        assert_eq!(many[0], "19");
    }

    #[test]
    fn up_and_down_walk_the_history_and_restore_the_draft() {
        let mut h = History::default();
        assert_eq!(h.up(""), None, "nothing sent yet");
        h.push("one");
        h.push("two");
        h.push("two"); // repeated: kept once
        h.push("");
        assert_eq!(h.up("draft"), Some("two".into()));
        assert_eq!(h.up("two"), Some("one".into()));
        assert_eq!(h.up("one"), None, "oldest reached");
        assert_eq!(h.down(), Some("two".into()));
        assert_eq!(
            h.down(),
            Some("draft".into()),
            "past the newest: the draft again"
        );
        assert_eq!(h.down(), None);
        // Typing stops the walk; the next Up starts from the newest again.
        h.up("");
        h.up("");
        h.edited();
        assert_eq!(h.up("x"), Some("two".into()));
    }

    #[test]
    fn history_is_bounded() {
        let mut h = History::default();
        for i in 0..(HISTORY_LEN + 10) {
            h.push(&i.to_string());
        }
        assert_eq!(h.items.len(), HISTORY_LEN);
        assert_eq!(h.items[0], "10");
    }

    #[test]
    fn caret_lines() {
        let text = "你好\nsecond\nthird";
        assert!(on_first_line(text, 0));
        assert!(on_first_line(text, 2), "after 你好, in UTF-16 units");
        assert!(!on_first_line(text, 3));
        assert!(!on_last_line(text, 2));
        assert!(on_last_line(text, 10));
        assert!(on_last_line(text, 15));
        assert!(on_first_line("", 0) && on_last_line("", 0));
    }
}
