//! The page's WebSocket to the bridge: connects, decodes, batches, reconnects.
//!
//! Frames are decoded as they arrive and queued; the queue goes to [`Handlers::on_batch`] at most
//! every [`FLUSH_MS`], so a flood of thousands of records a second costs a few dozen renders a
//! second, not one per record. When the socket drops, the service
//! says so and dials again after a back-off that doubles from [`FIRST_RETRY_MS`] to
//! [`MAX_RETRY_MS`]; the bridge's snapshot on the new socket brings the page up to date.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo::timers::callback::Timeout;
use protocol::{Frame, RECORD_HEADER_LEN};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};
use yew::Callback;

use crate::state::{Incoming, SocketStatus};
use crate::wire::{decode_record, decode_text};

const FLUSH_MS: u32 = 30;
const FIRST_RETRY_MS: u32 = 250;
const MAX_RETRY_MS: u32 = 5_000;

/// Where the transport reports what happens.
pub struct Handlers {
    /// The socket is connecting, open, or closed (and when it will try again).
    pub on_status: Callback<SocketStatus>,
    /// What the bridge said since the last batch, in order.
    pub on_batch: Callback<Vec<Incoming>>,
    /// A frame the page could not read, in words for the user.
    pub on_problem: Callback<String>,
}

/// A running connection to the bridge. Dropping it closes the socket and stops reconnecting.
pub struct Ws {
    inner: Rc<Inner>,
}

struct Inner {
    url: String,
    handlers: Handlers,
    live: RefCell<Option<Live>>,
    queue: RefCell<Vec<Incoming>>,
    flush: RefCell<Option<Timeout>>,
    retry: RefCell<Option<Timeout>>,
    retry_ms: Cell<u32>,
}

/// One socket and the handlers that must live as long as it.
struct Live {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

impl Ws {
    /// Connects to `/ws` on the origin that served the page.
    pub fn start(handlers: Handlers) -> Ws {
        let inner = Rc::new(Inner {
            url: socket_url(),
            handlers,
            live: RefCell::new(None),
            queue: RefCell::new(Vec::new()),
            flush: RefCell::new(None),
            retry: RefCell::new(None),
            retry_ms: Cell::new(FIRST_RETRY_MS),
        });
        Inner::connect(&inner);
        Ws { inner }
    }

    /// Sends a frame to the bridge.
    pub fn send(&self, frame: &Frame) -> Result<(), String> {
        let live = self.inner.live.borrow();
        let socket = match live.as_ref() {
            Some(live) if live.socket.ready_state() == WebSocket::OPEN => &live.socket,
            _ => return Err("Not connected to the bridge: try again once it reconnects.".into()),
        };
        let sent = match frame {
            Frame::Text(text) => socket.send_with_str(text),
            Frame::Binary(bytes) => socket.send_with_u8_array(bytes),
        };
        sent.map_err(|e| format!("Could not send to the bridge: {e:?}"))
    }
}

impl Drop for Ws {
    fn drop(&mut self) {
        self.inner.retry.borrow_mut().take();
        self.inner.flush.borrow_mut().take();
        self.inner.live.borrow_mut().take();
    }
}

fn socket_url() -> String {
    let location = web_sys::window().expect("a window").location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_else(|_| "127.0.0.1:8080".into());
    // A bridge served beyond loopback wants the access token the page was opened with.
    let query = location.search().unwrap_or_default();
    format!("{scheme}://{host}/ws{query}")
}

impl Inner {
    fn connect(this: &Rc<Inner>) {
        // The previous socket's handlers are not running now (this runs from a timer), so it
        // is safe to drop them here.
        this.live.borrow_mut().take();
        this.handlers.on_status.emit(SocketStatus::Connecting);
        let socket = match WebSocket::new(&this.url) {
            Ok(socket) => socket,
            Err(_) => {
                Inner::closed(this);
                return;
            }
        };
        socket.set_binary_type(BinaryType::Arraybuffer);

        let weak = Rc::downgrade(this);
        let on_open = Closure::<dyn FnMut()>::new(move || {
            if let Some(this) = weak.upgrade() {
                this.retry_ms.set(FIRST_RETRY_MS);
                this.handlers.on_status.emit(SocketStatus::Open);
            }
        });
        let weak = Rc::downgrade(this);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(this) = weak.upgrade() {
                Inner::received(&this, &e);
            }
        });
        let weak: Weak<Inner> = Rc::downgrade(this);
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
            if let Some(this) = weak.upgrade() {
                Inner::closed(&this);
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *this.live.borrow_mut() = Some(Live {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        });
    }

    fn received(this: &Rc<Inner>, e: &MessageEvent) {
        let data = e.data();
        let decoded = if let Some(text) = data.as_string() {
            decode_text(&text)
        } else if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            let frame = js_sys::Uint8Array::new(buffer);
            let len = frame.length();
            let mut head = [0u8; RECORD_HEADER_LEN];
            if len as usize >= RECORD_HEADER_LEN {
                frame
                    .subarray(0, RECORD_HEADER_LEN as u32)
                    .copy_to(&mut head);
            }
            decode_record(&head, len as usize, |at, out| {
                let at = at as u32;
                frame.subarray(at, at + out.len() as u32).copy_to(out)
            })
        } else {
            return;
        };
        match decoded {
            Ok(incoming) => this.queue.borrow_mut().push(incoming),
            Err(err) => this.handlers.on_problem.emit(format!(
                "The page could not read a message from the bridge ({err}): reload the page, \
                 or use a bridge of the same version."
            )),
        }
        if this.flush.borrow().is_none() {
            let weak = Rc::downgrade(this);
            *this.flush.borrow_mut() = Some(Timeout::new(FLUSH_MS, move || {
                if let Some(this) = weak.upgrade() {
                    this.flush.borrow_mut().take();
                    this.flush_now();
                }
            }));
        }
    }

    fn flush_now(&self) {
        let batch = std::mem::take(&mut *self.queue.borrow_mut());
        if !batch.is_empty() {
            self.handlers.on_batch.emit(batch);
        }
    }

    fn closed(this: &Rc<Inner>) {
        // What arrived before the drop is still true: show it, then say the socket is gone.
        this.flush.borrow_mut().take();
        this.flush_now();
        let delay = this.retry_ms.get();
        this.retry_ms.set((delay * 2).min(MAX_RETRY_MS));
        this.handlers
            .on_status
            .emit(SocketStatus::Closed { retry_in_ms: delay });
        let weak = Rc::downgrade(this);
        *this.retry.borrow_mut() = Some(Timeout::new(delay, move || {
            if let Some(this) = weak.upgrade() {
                this.retry.borrow_mut().take();
                Inner::connect(&this);
            }
        }));
    }
}
