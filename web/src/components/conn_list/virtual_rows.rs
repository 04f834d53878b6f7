//! Which rows of a long list to render: those in view, and a margin either side. The list
//! keeps its full height (so the scroll bar tells the truth) and renders a few dozen rows,
//! whether it has ten or ten thousand.

use std::ops::Range;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::Element;
use yew::prelude::*;

/// Rows rendered beyond each edge of the view: scrolling a little, or a keyboard or a test
/// moving to a row just out of view, finds it rendered.
const OVERSCAN: usize = 30;
/// The view's height until it is measured: a tall window's.
const GUESS_PX: i32 = 1000;

/// What a list needs to render only its visible rows.
pub struct VirtualRows {
    /// For the scrolling element.
    pub scroller: NodeRef,
    pub onscroll: Callback<Event>,
    /// The rows to render.
    pub range: Range<usize>,
}

/// Rows of `row_px` pixels, `count` of them, in the element `scroller` will point to.
#[hook]
pub fn use_virtual_rows(count: usize, row_px: i32) -> VirtualRows {
    let scroller = use_node_ref();
    // The first row in view, and how many fit: a render happens when these change, not on
    // every pixel scrolled.
    let view = use_state_eq(|| (0usize, rows_in(GUESS_PX, row_px)));
    let measure = {
        let scroller = scroller.clone();
        let view = view.clone();
        move || {
            if let Some(el) = scroller.cast::<Element>() {
                let first = usize::try_from(el.scroll_top() / row_px).unwrap_or(0);
                view.set((first, rows_in(el.client_height(), row_px)));
            }
        }
    };
    {
        // Measured once mounted, and again when the window's size changes.
        let measure = measure.clone();
        use_effect_with((), move |_| {
            measure();
            let on_resize = Closure::<dyn FnMut()>::new(measure);
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w
                    .add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = &window {
                    let _ = w.remove_event_listener_with_callback(
                        "resize",
                        on_resize.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    let onscroll = use_callback((), move |_: Event, _| measure());
    let (first, fit) = *view;
    VirtualRows {
        scroller,
        onscroll,
        range: window(first, fit, count),
    }
}

fn rows_in(px: i32, row_px: i32) -> usize {
    usize::try_from(px / row_px + 1).unwrap_or(1)
}

/// The rows to render when `first` is at the top of a view `fit` rows tall.
pub fn window(first: usize, fit: usize, count: usize) -> Range<usize> {
    // Scrolled past the end of a list that just shrank: its last rows.
    let first = first.min(count.saturating_sub(fit));
    let start = first.saturating_sub(OVERSCAN).min(count);
    let end = (first + fit + OVERSCAN).min(count);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_covers_the_view_and_a_margin_within_the_list() {
        assert_eq!(window(0, 16, 10), 0..10);
        assert_eq!(window(0, 16, 10_000), 0..16 + OVERSCAN);
        assert_eq!(window(4000, 16, 10_000), 4000 - OVERSCAN..4016 + OVERSCAN);
        // At the end, the view holds the last rows.
        assert_eq!(window(9990, 16, 10_000), 9984 - OVERSCAN..10_000);
        // Scrolled past the end of a list that just shrank: its last rows.
        assert_eq!(window(500, 16, 100), 84 - OVERSCAN..100);
        assert_eq!(rows_in(1040, 52), 21);
    }
}
