//! The rule being added or edited: its draft as the fields hold it now, the caret put in it
//! when it opens, its end when the rule sent is in force (or the bridge's refusal), and its form.

use std::rc::Rc;

use protocol::rules::Rule;
use protocol::{ConnId, Problem};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::editor::{rule_editor, EditorState};
use crate::components::fields::OnField;
use crate::hooks::latest::{use_live, Live};
use crate::state::rule_draft::{with_rule, RuleDraft};

/// The rule being edited.
#[derive(Clone, PartialEq)]
pub struct Editing {
    /// The id of the rule in force it changes; `None` for a new rule.
    pub was: Option<String>,
    pub draft: RuleDraft,
    /// The draft as the editor opened with it: a draft that differs holds work not saved.
    pub start: RuleDraft,
    /// Whether the caret starts in the reply (a rule made from a message).
    pub reply_first: bool,
    /// The form's own refusal, or the bridge's.
    pub error: Option<Rc<str>>,
    /// The rule sent, until it is in force or refused.
    pub saving: Option<Rule>,
}

impl Editing {
    pub fn new(rule: &Rule, was: Option<String>, selected: Option<ConnId>) -> Editing {
        let mut draft = RuleDraft::of(rule);
        if draft.scope_conn.is_empty() {
            draft.scope_conn = selected.map(|id| id.to_string()).unwrap_or_default();
        }
        Editing {
            was,
            start: draft.clone(),
            draft,
            reply_first: false,
            error: None,
            saving: None,
        }
    }
}

impl Editing {
    /// Whether the fields hold changes not saved, which closing the dialog would lose.
    pub fn changed(&self) -> bool {
        self.draft != self.start && self.saving.is_none()
    }
}

/// The rule being edited, if one is: at first `draft` (a rule made from a message, with the caret
/// in its reply). Closed once the rule sent is among the rules `in_force`; refused, it says why
/// (the bridge's refusal, `in_force.1`).
#[hook]
pub fn use_editing(
    draft: Option<Rule>,
    selected: Option<ConnId>,
    in_force: (Vec<Rule>, Option<Rc<Problem>>),
    form: NodeRef,
) -> Live<Option<Editing>> {
    let editing = use_live(|| {
        draft.as_ref().map(|rule| Editing {
            reply_first: true,
            ..Editing::new(rule, None, selected)
        })
    });
    // The editor opened: the caret goes to its first field, or to the reply left to write.
    {
        let (form, open) = (form, editing.get().map(|e| (e.was.clone(), e.reply_first)));
        use_effect_with(open, move |open| {
            let field = match open {
                Some((_, true)) => "#rule-reply",
                _ => "#rule-id",
            };
            let found = form
                .cast::<web_sys::Element>()
                .and_then(|f| f.query_selector(field).ok()?);
            if let Some(el) = found.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        });
    }
    // The rule sent is in force: the editor's work is done. Refused: it says why.
    {
        let editing = editing.clone();
        let deps = in_force;
        use_effect_with(deps, move |(rules, problem)| {
            if let Some(e) = editing.get() {
                match (&e.saving, problem) {
                    (Some(sent), _) if rules.contains(sent) => editing.set(None),
                    (Some(_), Some(problem)) => editing.set(Some(Editing {
                        saving: None,
                        error: Some(problem.message.as_str().into()),
                        ..e.clone()
                    })),
                    _ => {}
                }
            }
        });
    }
    editing
}

/// The form of the rule being edited, if one is. `save` sends the whole set.
pub fn editor(
    editing: &Live<Option<Editing>>,
    rules: &[Rule],
    save: &Callback<Vec<Rule>, Result<(), String>>,
    online: bool,
    form: NodeRef,
) -> Option<Html> {
    let e = editing.get()?;
    let on: OnField = {
        let editing = editing.clone();
        // From the draft as it is now: two quick edits must not undo each other.
        Callback::from(move |(field, value)| {
            let Some(e) = editing.get() else { return };
            let mut draft = e.draft.clone();
            draft.set(field, value);
            editing.set(Some(Editing {
                draft,
                error: None,
                ..e
            }))
        })
    };
    let on_save = {
        let (editing, rules) = (editing.clone(), rules.to_vec());
        let on_save = save.clone();
        Callback::from(move |()| {
            // What the fields hold now, even if the page has not drawn the last keystroke.
            let Some(e) = editing.get() else { return };
            let sent = e.draft.rule().and_then(|rule| {
                let set = with_rule(&rules, e.was.as_deref(), rule.clone());
                if set == rules {
                    // Nothing changed: nothing to wait for.
                    return Ok(None);
                }
                on_save.emit(set)?;
                Ok(Some(rule))
            });
            if let Ok(None) = sent {
                return editing.set(None);
            }
            let (saving, error) = match sent {
                Ok(rule) => (rule, None),
                Err(why) => (None, Some(why.into())),
            };
            editing.set(Some(Editing {
                saving,
                error,
                ..e.clone()
            }));
        })
    };
    let on_cancel = {
        let editing = editing.clone();
        Callback::from(move |()| editing.set(None))
    };
    let state = EditorState {
        draft: &e.draft,
        new: e.was.is_none(),
        error: e.error.as_ref(),
        saving: e.saving.is_some(),
        online,
    };
    Some(rule_editor(state, form, &on, on_save, on_cancel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::rules::{ReplyBody, Trigger};

    #[test]
    fn a_draft_changed_and_not_saved_is_work_that_closing_would_lose() {
        let rule = Rule::new("idn", Trigger::Any, ReplyBody::Text("ACME\\n".into()));
        let mut e = Editing::new(&rule, Some("idn".into()), Some(3));
        assert!(!e.changed(), "opened, nothing typed");
        e.draft.set("name", "identity".into());
        assert!(e.changed());
        e.draft.set("name", String::new());
        assert!(!e.changed(), "typed and taken back");
        e.draft.set("reply", "OTHER".into());
        e.saving = e.draft.rule().ok();
        assert!(!e.changed(), "sent: the bridge has it");
    }
}
