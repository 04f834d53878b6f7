//! Binding the bridge's sockets: `[::]` is dual-stack (IPv6 and IPv4 peers alike, where the
//! system allows it), and a failed bind is told in words that say what to check.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};

/// Connections a listener may have waiting to be accepted.
const BACKLOG: i32 = 1024;

/// A TCP listener on `addr`. On `[::]` it takes IPv4 peers too (dual-stack), whatever the
/// system's default for new sockets.
pub fn tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket(addr, Type::STREAM, Protocol::TCP)?;
    // As tokio's own bind does: a listener restarted at once may take its port back.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// A UDP socket on `addr`; on `[::]`, dual-stack as [`tcp`].
pub fn udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = socket(addr, Type::DGRAM, Protocol::UDP)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The tutorial's listener: `addr` as asked, except that `[::]` falls back to `0.0.0.0` on a
/// machine without IPv6.
pub fn tcp_or_ipv4(addr: SocketAddr) -> io::Result<TcpListener> {
    match tcp(addr) {
        Err(e) if addr.ip().is_unspecified() && addr.is_ipv6() && !port_refused(&e) => {
            tcp(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port()))
        }
        bound => bound,
    }
}

fn socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Not every system allows it (OpenBSD does not): then `[::]` is IPv6 only.
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Whether a bind failed for the port (taken, or privileged), which IPv4 would not change,
/// rather than for want of IPv6.
fn port_refused(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
    )
}

/// Why binding an address failed, in words that say what to check.
pub fn explain(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => "address already in use (another program has it)".into(),
        io::ErrorKind::AddrNotAvailable => {
            "address not available (it is not one of this machine's)".into()
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".into()
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// `[::]` takes IPv4 peers too (on a machine with IPv6 loopback; skipped elsewhere).
    #[tokio::test]
    async fn the_any_address_is_dual_stack() {
        let any = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0);
        let listener = match tcp(any) {
            Ok(listener) => listener,
            Err(e) => return eprintln!("skipped: this machine cannot bind [::] ({e})"),
        };
        let port = listener.local_addr().unwrap().port();
        let mut client = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .expect("an IPv4 client reaches [::]");
        let (mut accepted, peer) = listener.accept().await.unwrap();
        assert_eq!(peer.ip().to_canonical(), Ipv4Addr::LOCALHOST);
        client.write_all(b"v4").await.unwrap();
        let mut got = [0; 2];
        accepted.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"v4");
    }

    #[tokio::test]
    async fn a_taken_port_is_explained() {
        let taken = tcp("127.0.0.1:0".parse().unwrap()).unwrap();
        let e = tcp(taken.local_addr().unwrap()).unwrap_err();
        assert_eq!(
            explain(&e),
            "address already in use (another program has it)"
        );
    }
}
