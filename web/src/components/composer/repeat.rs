//! Repeat-send: the composer's message every so many milliseconds, counting what went out, until
//! the user stops it, a send fails, or there is no one left to send to.

use std::cell::Cell;
use std::rc::Rc;

use gloo::timers::callback::Interval;
use protocol::Target;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Bounds of the repeat-send interval, in milliseconds.
const MIN_REPEAT_MS: u32 = 10;
const MAX_REPEAT_MS: u32 = 86_400_000;

/// The interval as typed, checked.
pub fn parse_every(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(ms) if (MIN_REPEAT_MS..=MAX_REPEAT_MS).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "Repeat every {MIN_REPEAT_MS} to {MAX_REPEAT_MS} ms: a whole number of milliseconds."
        )),
    }
}

/// A repeat that may be running.
#[derive(Clone)]
pub struct Repeat {
    timer: UseStateHandle<Option<Rc<Interval>>>,
    count: UseStateHandle<u64>,
}

impl Repeat {
    pub fn running(&self) -> bool {
        self.timer.is_some()
    }

    /// Messages sent since it started.
    pub fn count(&self) -> u64 {
        *self.count
    }

    pub fn stop(&self) {
        self.timer.set(None); // dropping the interval stops it
    }

    /// Sends `bytes` to `to` now and every `ms`; a failure stops it and goes to `on_error`.
    pub fn start(
        &self,
        ms: u32,
        (to, bytes): (Target, Vec<u8>),
        on_send: Callback<(Target, Vec<u8>), Result<(), String>>,
        on_error: Callback<String>,
    ) {
        let sent = Rc::new(Cell::new(0u64));
        let this = self.clone();
        let send_once = move || match on_send.emit((to, bytes.clone())) {
            Ok(()) => {
                sent.set(sent.get() + 1);
                this.count.set(sent.get());
            }
            Err(msg) => {
                on_error.emit(format!("Repeat stopped: {msg}"));
                this.stop();
            }
        };
        send_once();
        self.timer.set(Some(Rc::new(Interval::new(ms, send_once))));
    }
}

/// A repeat, stopped when `reachable` turns false.
#[hook]
pub fn use_repeat(reachable: bool) -> Repeat {
    let repeat = Repeat {
        timer: use_state(|| None),
        count: use_state(|| 0),
    };
    {
        let repeat = repeat.clone();
        use_effect_with(reachable, move |reachable| {
            if !*reachable && repeat.running() {
                repeat.stop();
            }
        });
    }
    repeat
}

#[derive(Properties, PartialEq)]
pub struct RepeatProps {
    /// What the composer would send now, and where; `None` (with the reason shown) if nothing.
    pub prepare: Callback<(), Option<(Target, Vec<u8>)>>,
    pub on_send: Callback<(Target, Vec<u8>), Result<(), String>>,
    pub on_error: Callback<String>,
    /// Whether there is anyone to send to.
    pub reachable: bool,
    /// Whether the composer cannot send now.
    pub disabled: bool,
}

#[component]
pub fn RepeatControl(props: &RepeatProps) -> Html {
    let every = use_state(|| "1000".to_string());
    let repeat = use_repeat(props.reachable);
    let on_every = {
        let every = every.clone();
        Callback::from(move |e: InputEvent| {
            every.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let onclick = {
        let (repeat, every) = (repeat.clone(), every.clone());
        let (prepare, on_send, on_error) = (
            props.prepare.clone(),
            props.on_send.clone(),
            props.on_error.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            if repeat.running() {
                return repeat.stop();
            }
            match parse_every(&every) {
                Ok(ms) => {
                    if let Some(message) = prepare.emit(()) {
                        repeat.start(ms, message, on_send.clone(), on_error.clone());
                    }
                }
                Err(msg) => on_error.emit(msg),
            }
        })
    };
    let running = repeat.running();
    html! {
        <span class="control repeat">
            <label for="repeat-every">{ "Every" }</label>
            <input id="repeat-every" type="text" inputmode="numeric" size="5"
                   value={(*every).clone()} oninput={on_every} disabled={running} />
            <span class="unit" aria-hidden="true">{ "ms" }</span>
            <button type="button" {onclick} class={classes!(running.then_some("danger"))}
                    disabled={props.disabled && !running}>
                { if running { format!("Stop repeating ({} sent)", repeat.count()) } else { "Repeat".to_string() } }
            </button>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_whole_milliseconds_within_bounds() {
        assert_eq!(parse_every(" 50 "), Ok(50));
        assert_eq!(parse_every("10"), Ok(10));
        for bad in ["9", "0", "1.5", "", "86400001", "soon"] {
            assert!(
                parse_every(bad)
                    .unwrap_err()
                    .starts_with("Repeat every 10 to"),
                "{bad:?}"
            );
        }
    }
}
