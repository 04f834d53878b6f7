//! The signals that ask the bridge to stop: Ctrl-C, and SIGTERM (what `kill` and service
//! managers send). Handlers are installed when [`stop_signal`] is called, not when its future is
//! first polled, so a signal that arrives right after start-up is not lost to the default action.

use std::future::Future;
use std::io;

/// Installs the handlers and returns a future that resolves on the first stop signal.
#[cfg(unix)]
pub fn stop_signal() -> io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Installs the handler and returns a future that resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn stop_signal() -> io::Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
