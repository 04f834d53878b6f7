//! What is typed in the composer, kept per conversation (see [`crate::state::drafts`]): when
//! the conversation in view changes, the text it shows changes with it, in the same render.

use yew::prelude::*;

use super::latest::{use_live, Live};
use crate::state::drafts::Drafts;

/// The composer's text for the conversation `key` names (`None`: none in view).
#[hook]
pub fn use_draft<K: Clone + PartialEq + 'static>(key: K) -> Live<String> {
    let text = use_live(String::new);
    let drafts = use_mut_ref(|| (key.clone(), Drafts::<K>::default()));
    let mut drafts = drafts.borrow_mut();
    let (shown, kept) = &mut *drafts;
    if *shown != key {
        let left = std::mem::replace(shown, key.clone());
        text.set_in_render(kept.switch(left, text.get(), &key));
    }
    text
}
