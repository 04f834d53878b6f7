//! A log that follows new messages while the user is at the bottom.

use protocol::ConnId;
use web_sys::Element;
use yew::prelude::*;

/// How close to the bottom (in pixels) still counts as "at the bottom" for auto-scroll.
const STICK_PX: i32 = 32;

/// Follows new messages while the user is at the bottom, and stays put once they scroll up; a
/// newly shown conversation starts at its bottom.
#[hook]
pub fn use_stick_to_bottom(id: ConnId) -> (NodeRef, Callback<Event>) {
    let scroller = use_node_ref();
    let stick = use_mut_ref(|| true);
    let shown_id = use_mut_ref(|| None::<ConnId>);
    {
        let scroller = scroller.clone();
        let stick = stick.clone();
        use_effect(move || {
            if *shown_id.borrow() != Some(id) {
                *shown_id.borrow_mut() = Some(id);
                *stick.borrow_mut() = true;
            }
            if *stick.borrow() {
                if let Some(el) = scroller.cast::<Element>() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
        });
    }
    let onscroll = {
        let scroller = scroller.clone();
        use_callback((), move |_: Event, _| {
            if let Some(el) = scroller.cast::<Element>() {
                *stick.borrow_mut() =
                    el.scroll_height() - el.scroll_top() - el.client_height() <= STICK_PX;
            }
        })
    };
    (scroller, onscroll)
}
