//! The page's hooks, where the work of its views lives (as in yew's `function_todomvc`): the
//! link to the bridge, the commands and the device simulator's context that `App` provides to
//! every view, values read as they are now, and the composer's sending, history and file drop.

pub mod bridge;
pub mod commands;
pub mod device;
pub mod draft;
pub mod file_drop;
pub mod focus_key;
pub mod latest;
pub mod sending;
pub mod stick_to_bottom;
