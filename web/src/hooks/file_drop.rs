//! A file dropped on the composer, or picked, is sent as a file (see
//! [`crate::components::composer::file_send`]), when there is where to send it.

use yew::prelude::*;

use super::device::DeviceCtx;
use crate::components::composer::file_send::{first_file, use_file_sender, FileSender, FileTarget};

pub struct FileDrop {
    /// The file being sent, or the last one.
    pub files: FileSender,
    /// The file field.
    pub file_input: NodeRef,
    /// Whether a file is being dragged over the composer.
    pub dropping: bool,
    pub ondragover: Callback<DragEvent>,
    pub ondragleave: Callback<DragEvent>,
    pub ondrop: Callback<DragEvent>,
    /// A file picked in the file field.
    pub on_file: Callback<Event>,
}

/// Sends a file dropped or picked to `target`; with none, a drop is not taken.
#[hook]
pub fn use_file_drop(target: Option<FileTarget>) -> FileDrop {
    let files = use_file_sender();
    let file_input = use_node_ref();
    let dropping = use_state(|| false);
    let device = use_context::<DeviceCtx>();
    let ondragover = {
        let (dropping, can) = (dropping.clone(), target.is_some());
        Callback::from(move |e: DragEvent| {
            if can {
                e.prevent_default();
                dropping.set(true);
            }
        })
    };
    let ondragleave = {
        let dropping = dropping.clone();
        Callback::from(move |_: DragEvent| dropping.set(false))
    };
    // A file picked or dropped: sent, if there is where to.
    let start_file = {
        let files = files.clone();
        Callback::from(move |file: Option<web_sys::File>| {
            if let (Some(file), Some(target), Some(device)) = (file, target.clone(), device.clone())
            {
                files.start(file, target, device);
            }
        })
    };
    let ondrop = {
        let (dropping, start_file) = (dropping.clone(), start_file.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dropping.set(false);
            start_file.emit(first_file(e.data_transfer().and_then(|d| d.files())));
        })
    };
    let on_file = Callback::from(move |e: Event| {
        let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
        start_file.emit(first_file(input.files()));
        // The same file may be picked again.
        input.set_value("");
    });
    FileDrop {
        files,
        file_input,
        dropping: *dropping,
        ondragover,
        ondragleave,
        ondrop,
        on_file,
    }
}
