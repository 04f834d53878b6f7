//! Function components, a file each, or a directory for a view made of several (the connection
//! list, the conversation, the composer), as yew's `function_todomvc` does; their work lives in
//! [`crate::hooks`]. They render [`crate::state::State`] and turn what the user does into
//! actions and commands, which they reach through the context `App` provides; none of them owns
//! any of the state they show, only how they show it.

pub mod app;
pub mod composer;
pub mod conn_list;
pub mod connect_form;
pub mod conversation;
pub mod copy_text;
pub mod device_section;
pub mod fields;
pub mod listener_form;
pub mod multicast_groups;
pub mod page_encoding;
pub mod proxy_form;
pub mod rate_graph;
pub mod reading_form;
pub mod rules;
pub mod select;
pub mod send_to;
pub mod status;
pub mod tls_details;
pub mod toolbar;
pub mod topbar;
pub mod transport_badge;
