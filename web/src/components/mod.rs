//! Function components, one per file. They render [`crate::state::State`] and turn what the user
//! does into actions and commands; none of them owns any of the state they show.

pub mod app;
pub mod composer;
pub mod conn_list;
pub mod connect_form;
pub mod conversation;
pub mod listener_form;
pub mod rate_graph;
pub mod status;
