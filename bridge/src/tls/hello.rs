//! The version a client's greeting offers, read from the first bytes it sent.
//!
//! rustls refuses a TLS 1.0 or 1.1 client for what its greeting lacks (the signature
//! algorithms TLS 1.2 requires), not for its version; a person needs the version. The
//! ClientHello's `legacy_version`, at a fixed place in the first record, is the highest version
//! a client older than TLS 1.3 offers (a TLS 1.3 client writes TLS 1.2 there, and lists the
//! others in `supported_versions`). So an accepted stream is wrapped in [`Greeted`], which keeps
//! a copy of the first [`KEPT`] bytes read through it, and costs one comparison per read after.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A record header (5 bytes), a handshake header (4) and the ClientHello's `legacy_version` (2).
const KEPT: usize = 11;
/// A TLS record that carries a handshake message...
const HANDSHAKE: u8 = 0x16;
/// ...and the handshake message that greets.
const CLIENT_HELLO: u8 = 0x01;

/// A stream that keeps the first bytes read through it.
pub struct Greeted<IO> {
    io: IO,
    first: [u8; KEPT],
    kept: usize,
}

impl<IO> Greeted<IO> {
    pub fn new(io: IO) -> Greeted<IO> {
        Greeted {
            io,
            first: [0; KEPT],
            kept: 0,
        }
    }

    /// The stream it reads through.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The version the client's greeting offers at most, when it is older than TLS 1.2 (`None`
    /// for a newer one, or when the first bytes are not a ClientHello).
    pub fn older_version(&self) -> Option<&'static str> {
        older_version(&self.first[..self.kept])
    }
}

fn older_version(first: &[u8]) -> Option<&'static str> {
    let [HANDSHAKE, _, _, _, _, CLIENT_HELLO, _, _, _, major, minor] = *first else {
        return None;
    };
    match (major, minor) {
        (3, 0) => Some("SSL 3.0"),
        (3, 1) => Some("TLS 1.0"),
        (3, 2) => Some("TLS 1.1"),
        _ => None,
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Greeted<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if this.kept < KEPT {
            let new = &buf.filled()[before..];
            let n = new.len().min(KEPT - this.kept);
            this.first[this.kept..this.kept + n].copy_from_slice(&new[..n]);
            this.kept += n;
        }
        read
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Greeted<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_s_version_is_read_where_it_stands() {
        let hello = |major, minor| [0x16, 3, 1, 0, 0x31, 0x01, 0, 0, 0x2d, major, minor];
        assert_eq!(older_version(&hello(3, 1)), Some("TLS 1.0"));
        assert_eq!(older_version(&hello(3, 2)), Some("TLS 1.1"));
        assert_eq!(older_version(&hello(3, 0)), Some("SSL 3.0"));
        // TLS 1.2, or 1.3 (which writes 1.2 here): nothing to say.
        assert_eq!(older_version(&hello(3, 3)), None);
        // Not a greeting, or cut short.
        assert_eq!(older_version(b"GET / HTTP/1"), None);
        assert_eq!(older_version(&hello(3, 1)[..10]), None);
    }
}
