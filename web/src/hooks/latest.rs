//! Values that a callback reads as they are now, not as they were when the callback was made.
//!
//! yew renders after an event, but a long render yields to the browser every 16 ms, and an
//! input event (a click on Submit, Enter in the composer) can then run before the render that
//! the last keystroke asked for, with the closures of the render before. Two kinds of value
//! must still be read as they are now:
//!
//! - what a form's fields hold ([`use_live`]): changed at once by [`Live::set`], so that a
//!   submit takes what the fields hold, not what they held one keystroke ago; the render
//!   follows as usual;
//! - what the page last rendered ([`use_latest`]): the state, the rules, for callbacks made
//!   once (so that the components they are given are not drawn again for nothing) that read it
//!   when they run.

use std::cell::{Ref, RefCell};
use std::rc::Rc;

use yew::prelude::*;

/// A value shared between renders and callbacks, read as it is now.
pub struct Latest<T>(Rc<RefCell<T>>);

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        Latest(self.0.clone())
    }
}

impl<T> Latest<T> {
    /// The value now, borrowed.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.0.borrow()
    }
}

impl<T: Clone> Latest<T> {
    /// The value now.
    pub fn get(&self) -> T {
        self.0.borrow().clone()
    }
}

/// `value` as of the last render, for callbacks that outlive it.
#[hook]
pub fn use_latest<T: 'static>(value: T) -> Latest<T> {
    let mut value = Some(value);
    let cell = use_mut_ref(|| value.take().expect("the first render's value"));
    if let Some(value) = value {
        *cell.borrow_mut() = value;
    }
    Latest(cell)
}

/// A form's value, changed at once and rendered after.
#[derive(Clone)]
pub struct Live<T> {
    value: Latest<T>,
    render: UseForceUpdateHandle,
}

impl<T: Clone> Live<T> {
    /// The value now.
    pub fn get(&self) -> T {
        self.value.get()
    }

    /// Changes the value at once, and asks for a render.
    pub fn set(&self, value: T) {
        *self.value.0.borrow_mut() = value;
        self.render.force_update();
    }

    /// Changes the value during a render, which then shows it: no other render is asked for.
    pub fn set_in_render(&self, value: T) {
        *self.value.0.borrow_mut() = value;
    }
}

#[hook]
pub fn use_live<T: 'static>(init: impl FnOnce() -> T) -> Live<T> {
    Live {
        value: Latest(use_mut_ref(init)),
        render: use_force_update(),
    }
}
