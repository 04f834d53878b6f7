//! A menu that shows the value in force. An option's `selected` attribute only sets what a
//! `<select>` shows until the user picks something; after that the element keeps the user's
//! last pick, whatever the page renders. So every render sets the element's value from the
//! state: select another conversation and its menus show its own settings.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SelectProps {
    pub id: AttrValue,
    /// The value in force: the option shown.
    pub value: AttrValue,
    /// `(value, label)` of each option.
    pub options: Vec<(&'static str, &'static str)>,
    /// The value the user picked.
    pub onchange: Callback<String>,
    #[prop_or_default]
    pub disabled: bool,
    #[prop_or_default]
    pub title: Option<AttrValue>,
}

#[component]
pub fn Select(props: &SelectProps) -> Html {
    let node = use_node_ref();
    {
        let (node, value) = (node.clone(), props.value.clone());
        use_effect(move || {
            if let Some(select) = node.cast::<HtmlSelectElement>() {
                if select.value() != *value {
                    select.set_value(&value);
                }
            }
        });
    }
    let onchange = props
        .onchange
        .reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value());
    html! {
        <select ref={node} id={props.id.clone()} {onchange} disabled={props.disabled}
                title={props.title.clone()}>
            { for props.options.iter().map(|(value, label)| html! {
                <option value={*value} selected={*value == props.value.as_str()}>{ *label }</option>
            }) }
        </select>
    }
}
