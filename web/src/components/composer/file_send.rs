//! Sending a file, picked or dropped on the composer, to the selected connection or to all:
//! announced to the bridge (`send_file`), then read a part at a time (`Blob.slice`, never the
//! whole file in memory) and sent as parts of a file, as fast as the peers take them (see
//! [`crate::state::file_pace`]). A bar shows how much the peer's connection took; Cancel stops
//! it at once (the bridge drops what it still holds of it), then says exactly how many bytes
//! went out.

use std::cell::Cell;
use std::rc::Rc;

use protocol::{Command, ConnId, ConnState, Target, ToBridge, Transmit};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

use crate::bytes_view::size::{byte_count, format_size};
use crate::hooks::device::DeviceCtx;
use crate::state::file_pace::{FilePace, Next};

/// Where a file goes, and what the composer calls it.
#[derive(Clone, Debug, PartialEq)]
pub struct FileTarget {
    pub to: Target,
    /// `127.0.0.1:5000`, `all 3 open connections`.
    pub label: String,
}

/// What the sender is doing, or did last.
#[derive(Clone, Debug, PartialEq)]
enum Progress {
    Sending {
        name: String,
        size: u64,
        written: u64,
        to: String,
    },
    Done {
        name: String,
        size: u64,
        to: String,
    },
    Stopped {
        name: String,
        why: String,
    },
}

/// A file being sent, or not.
#[derive(Clone)]
pub struct FileSender {
    progress: UseStateHandle<Option<Progress>>,
    cancel: Rc<Cell<bool>>,
    running: Rc<Cell<bool>>,
}

#[hook]
pub fn use_file_sender() -> FileSender {
    FileSender {
        progress: use_state(|| None),
        cancel: use_memo((), |_| Cell::new(false)),
        running: use_memo((), |_| Cell::new(false)),
    }
}

impl FileSender {
    pub fn running(&self) -> bool {
        self.running.get()
    }

    /// Sends `file` to `target`, unless a file is being sent already.
    pub fn start(&self, file: File, target: FileTarget, ctx: DeviceCtx) {
        if self.running.replace(true) {
            return;
        }
        self.cancel.set(false);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let outcome = match this.send(&file, &target, &ctx).await {
                Ok(None) => Progress::Done {
                    name,
                    size: file.size() as u64,
                    to: target.label,
                },
                Ok(Some(why)) | Err(why) => Progress::Stopped { name, why },
            };
            this.running.set(false);
            this.progress.set(Some(outcome));
        });
    }

    pub fn cancel(&self) {
        self.cancel.set(true);
    }

    /// Sends the file; `Some(why)` when it stopped before the end.
    async fn send(
        &self,
        file: &File,
        target: &FileTarget,
        ctx: &DeviceCtx,
    ) -> Result<Option<String>, String> {
        let (name, size) = (file.name(), file.size() as u64);
        let targets = match target.to {
            Target::Conn(id) => vec![id],
            Target::All => ctx.open_conns.emit(()),
        };
        let targets: Vec<_> = targets
            .into_iter()
            .filter_map(|id| Some((id, ctx.probe.emit(id)?)))
            .collect();
        let ids: Vec<_> = targets.iter().map(|(id, _)| *id).collect();
        let mut pace = FilePace::new(size, targets);
        let probe = |id| ctx.probe.emit(id);
        let announce = Command::SendFile {
            to: target.to,
            name: name.clone(),
            size,
        };
        ctx.frame.emit(announce.to_frame())?;
        let stopped = |why: String, pace: FilePace| stop(ctx, target.to, ids.clone(), pace, why);
        loop {
            let written = pace.written(probe);
            if self.cancel.get() {
                return stopped("cancelled".into(), pace).await;
            }
            self.progress.set(Some(Progress::Sending {
                name: name.clone(),
                size,
                written,
                to: target.label.clone(),
            }));
            match pace.next(probe) {
                Next::Go => {
                    let end = pace.sent + pace.part();
                    let data = match read(file, pace.sent, end).await {
                        Ok(data) => data,
                        Err(why) => return stopped(why, pace).await,
                    };
                    let transmit = Transmit {
                        to: target.to,
                        file: true,
                        broadcast: false,
                        to_server: false,
                        data: data.into(),
                    };
                    if let Err(why) = ctx.frame.emit(ToBridge::Transmit(transmit).to_frame()) {
                        return stopped(why, pace).await;
                    }
                    pace.sent = end;
                }
                Next::Wait => sleep(15).await,
                Next::Done => return Ok(None),
                Next::Stop(why) => return stopped(why, pace).await,
            }
        }
    }
}

/// Stops a file: its entries say so at once, and the bridge is told (and every other page by
/// it), which drops what it still holds of the file. Once nothing waits for the peers, their
/// counters say exactly how much of it went out, and so does the sender.
async fn stop(
    ctx: &DeviceCtx,
    to: Target,
    ids: Vec<ConnId>,
    pace: FilePace,
    why: String,
) -> Result<Option<String>, String> {
    ctx.file_stopped.emit(ids.clone());
    // A connection that closed meanwhile needs no telling.
    let _ = ctx.frame.emit(Command::StopFile { to }.to_frame());
    let probe = |id| ctx.probe.emit(id);
    let settled = || {
        ids.iter()
            .all(|&id| probe(id).is_none_or(|p| p.waiting == 0 || p.state == ConnState::Closed))
    };
    // At least the bridge's answer's time, then until what it held is dropped.
    sleep(SETTLE_STEP).await;
    let mut waited = SETTLE_STEP;
    while !settled() && waited < SETTLE_MAX {
        sleep(SETTLE_STEP).await;
        waited += SETTLE_STEP;
    }
    let written = pace.written(probe);
    let went = if settled() {
        "went out"
    } else {
        "went out so far"
    };
    Ok(Some(format!(
        "{why}; {} of {} {went}",
        byte_count(written),
        byte_count(pace.size)
    )))
}

/// How often, and how long at most, a stopped file's sender looks for the bridge to have
/// dropped what it held of it, in milliseconds.
const SETTLE_STEP: i32 = 50;
const SETTLE_MAX: i32 = 5_000;

/// Bytes `start..end` of `file`, read from the disk now.
async fn read(file: &File, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let failed = |e: wasm_bindgen::JsValue| format!("the file could not be read: {e:?}");
    let part = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(failed)?;
    let buffer = JsFuture::from(part.array_buffer()).await.map_err(failed)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: i32) {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(timer).await;
}

/// What the count beside the bar is: the peer's system holds what its connection took until
/// the peer reads it, so a peer that reads slowly has read less.
const TAKEN: &str = "Bytes the bridge wrote to the peer's connection; the peer's system holds \
                     them until the peer reads them";

/// The first file of a file input's or a drop's list.
pub fn first_file(files: Option<web_sys::FileList>) -> Option<File> {
    files.and_then(|list| list.get(0))
}

/// "Send a file…" (which opens `input`, the file input whose `onchange` starts the send), and
/// what the file being sent, or the last one, has come to.
pub fn file_send(
    sender: &FileSender,
    target: Option<&FileTarget>,
    input: NodeRef,
    onchange: Callback<Event>,
) -> Html {
    let running = sender.running();
    let on_pick = {
        let input = input.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(input) = input.cast::<HtmlInputElement>() {
                input.click();
            }
        })
    };
    let on_cancel = {
        let sender = sender.clone();
        Callback::from(move |_: MouseEvent| sender.cancel())
    };
    let on_dismiss = {
        let progress = sender.progress.clone();
        Callback::from(move |_: MouseEvent| progress.set(None))
    };
    let dismiss = html! {
        <button type="button" class="dismiss" aria-label="Dismiss" onclick={on_dismiss}>{ "×" }</button>
    };
    let status = sender.progress.as_ref().map(|p| match p {
        Progress::Sending {
            name,
            size,
            written,
            to,
        } => html! {
            <>
                <span class="file-what">{ format!("Sending {name} ({}) to {to}", format_size(*size)) }</span>
                <progress max={(*size).max(1).to_string()} value={written.to_string()}
                          aria-label="Taken by the peer's connection"></progress>
                <span class="file-count" title={TAKEN}>{ format!("{} taken by the connection", format_size(*written)) }</span>
                <button type="button" class="danger" onclick={on_cancel}>{ "Cancel" }</button>
            </>
        },
        Progress::Done { name, size, to } => html! {
            <>
                <span class="file-what">{ format!("Sent {name} ({}) to {to}.", format_size(*size)) }</span>
                { dismiss }
            </>
        },
        Progress::Stopped { name, why } => html! {
            <>
                <span class="file-what error">{ format!("{name} was not sent whole: {why}.") }</span>
                { dismiss }
            </>
        },
    });
    let title = match target {
        Some(t) => format!(
            "Send a file's bytes to {}, exactly; or drop a file here",
            t.label
        ),
        None => "Select an open connection, or tick “Send to all”".to_string(),
    };
    html! {
        <>
            // Hidden: "Send a file…" opens it.
            <input ref={input} id="send-file" type="file" hidden=true {onchange} />
            <button type="button" class="send-file" onclick={on_pick} {title}
                    disabled={target.is_none() || running}>{ "Send a file…" }</button>
            if let Some(status) = status {
                <div class="file-send" role="status">{ status }</div>
            }
        </>
    }
}
