//! State that a callback reads as it is now, not as it was when the callback was made.
//!
//! yew renders after an event, but a long render yields to the browser every 16 ms, and an
//! input event (a click on Submit, Enter in the composer) can then run before the render that
//! the last keystroke asked for, with the closures of the render before: a form would submit
//! what its fields held one keystroke ago. A [`Live`] value is changed at once by `set`, so a
//! submit always takes what the fields hold; the render follows as usual.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

#[derive(Clone)]
pub struct Live<T> {
    value: Rc<RefCell<T>>,
    render: UseForceUpdateHandle,
}

impl<T: Clone> Live<T> {
    /// The value now.
    pub fn get(&self) -> T {
        self.value.borrow().clone()
    }

    /// Changes the value at once, and asks for a render.
    pub fn set(&self, value: T) {
        *self.value.borrow_mut() = value;
        self.render.force_update();
    }
}

#[hook]
pub fn use_live<T: 'static>(init: impl FnOnce() -> T) -> Live<T> {
    Live {
        value: use_mut_ref(init),
        render: use_force_update(),
    }
}
