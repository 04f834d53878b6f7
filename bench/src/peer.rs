//! The TCP side of the scenarios: a stream of known bytes, a reader that checks it, an echo
//! server.
//!
//! Streams are a 1 MiB block of pseudo-random bytes, repeated. Random so that no layer can take a
//! shortcut on it (and it never spells the exit word), repeated so that building it costs nothing;
//! a 64-bit XXH3 of the whole stream proves that every byte arrived, in order, untouched, at a
//! cost (several GB/s) that does not bend the figures.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use xxhash_rust::xxh3::Xxh3;

/// The repeated block.
const BLOCK: usize = 1 << 20;
/// Bytes read from a socket at a time.
const READ_BUF: usize = 256 << 10;

/// A stream of `total` bytes: the block, repeated, and its hash.
pub struct Pattern {
    block: Bytes,
    pub total: u64,
    pub hash: u64,
}

impl Pattern {
    pub fn new(total: u64) -> Pattern {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let block: Vec<u8> = (0..BLOCK / 8)
            .flat_map(|_| {
                // xorshift64: plenty random for this, and deterministic.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()
            })
            .collect();
        let mut pattern = Pattern {
            block: block.into(),
            total,
            hash: 0,
        };
        let mut hasher = Xxh3::new();
        for chunk in pattern.chunks(BLOCK) {
            hasher.update(&chunk);
        }
        pattern.hash = hasher.digest();
        pattern
    }

    /// The stream cut into pieces of `size` bytes (which must divide the block), the last one
    /// possibly shorter. Each piece shares the block's buffer.
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = Bytes> + '_ {
        assert!(
            size > 0 && BLOCK.is_multiple_of(size),
            "chunk size must divide {BLOCK}"
        );
        let total = self.total;
        (0..total.div_ceil(size as u64)).map(move |i| {
            let start = i * size as u64;
            let len = (total - start).min(size as u64) as usize;
            let at = (start % BLOCK as u64) as usize;
            self.block.slice(at..at + len)
        })
    }

    /// Writes the whole stream to `stream`.
    pub async fn write_to(&self, stream: &mut TcpStream) -> Result<()> {
        for chunk in self.chunks(BLOCK) {
            stream
                .write_all(&chunk)
                .await
                .context("writing the stream")?;
        }
        stream.flush().await?;
        Ok(())
    }
}

/// Hashes a stream as it arrives, in pieces, and says whether it is the expected one.
pub struct Checker {
    hasher: Xxh3,
    pub bytes: u64,
}

impl Checker {
    pub fn new() -> Checker {
        Checker {
            hasher: Xxh3::new(),
            bytes: 0,
        }
    }

    pub fn update(&mut self, piece: &[u8]) {
        self.hasher.update(piece);
        self.bytes += piece.len() as u64;
    }

    /// Fails unless exactly the pattern's bytes arrived.
    pub fn verify(&self, pattern: &Pattern, what: &str) -> Result<()> {
        if self.bytes != pattern.total {
            bail!(
                "{what}: {} bytes arrived, {} were sent",
                self.bytes,
                pattern.total
            );
        }
        if self.hasher.digest() != pattern.hash {
            bail!(
                "{what}: all {} bytes arrived, but not the bytes that were sent (hash differs)",
                self.bytes
            );
        }
        Ok(())
    }
}

/// Reads `total` bytes from `stream`, hashing them; returns the checker and when the last byte
/// arrived.
pub async fn read_stream(stream: &mut TcpStream, total: u64) -> Result<(Checker, Instant)> {
    let mut checker = Checker::new();
    let mut buf = vec![0; READ_BUF];
    while checker.bytes < total {
        let n = stream.read(&mut buf).await.context("reading the stream")?;
        if n == 0 {
            bail!("the stream ended after {} of {total} bytes", checker.bytes);
        }
        checker.update(&buf[..n]);
    }
    Ok((checker, Instant::now()))
}

/// A loopback listener on an ephemeral port.
pub async fn listen() -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a loopback listener")?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// An echo server on loopback: writes back whatever each connection sends. It stops when the
/// handle is aborted (the scenarios drop it at the end of a run).
pub async fn echo_server() -> Result<(SocketAddr, EchoServer)> {
    let (listener, addr) = listen().await?;
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0; 64 << 10];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok((addr, EchoServer(task)))
}

/// Stops the echo server's accept loop when dropped.
pub struct EchoServer(JoinHandle<()>);

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
