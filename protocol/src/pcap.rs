//! `bridge pcap` and the page's pcapng download: a recording's conversations as a pcapng file that Wireshark and tshark open,
//! so that their dissectors (Modbus/TCP, DNP3, MQTT, ...) decode what the page shows as bytes.
//!
//! The packets are made up from the recording, which holds the bytes and not the packets that
//! carried them: synthetic Ethernet (locally administered MACs), IPv4 or IPv6 with the recorded
//! addresses and ports, and TCP with a handshake at the open, sequence and acknowledgement
//! numbers that follow the bytes, each segment acknowledged, and a FIN (or an RST, for a reset)
//! at the close; or UDP, one datagram per record. Times are the recorded microseconds.
//!
//! A message is one segment when it can be, so that the recording's framing shows as packets:
//! the segment size is 65,495 bytes, the most an IPv4 packet carries after its 20-byte IP and TCP
//! headers (as on loopback, whose 64 KiB MTU gives about that); a longer message (up to the
//! framing's 1 MiB) is cut into segments of that size.
//!
//! A proxied conversation, whose bridge holds two connections, is written as one TCP stream
//! between its client and its server: what each said to the other, as if the bridge were not
//! in between. A TLS conversation is written as the plaintext the bridge saw, on its ports, and
//! its comment says so.

use std::io::Write;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::recording::{Conversation, Happening};
use crate::{Micros, Origin, Transport, Way};
use etherparse::PacketBuilder;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness};

/// The most payload a segment carries (see the module's comment).
pub const MSS: usize = 65_495;
/// The window every segment offers: the most without window scaling, which needs options.
const WINDOW: u16 = 65_535;
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// Where a conversation's addresses are not in the file (the page's download has no lines of
/// state): TEST-NET-1 (RFC 5737), which no real host has.
const UNKNOWN_CLIENT: [u8; 4] = [192, 0, 2, 1];
const UNKNOWN_SERVER: [u8; 4] = [192, 0, 2, 2];
const UNKNOWN_SERVER_PORT: u16 = crate::address::DEFAULT_PORT;

/// What was written.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub conversations: usize,
    pub packets: usize,
}

/// Writes `conversations` to `out` as pcapng, in time order across conversations.
pub fn write<W: Write>(conversations: &[Conversation], out: W) -> Result<Written, String> {
    let section = SectionHeaderBlock {
        endianness: Endianness::native(),
        options: vec![
            SectionHeaderOption::UserApplication(
                concat!("bridge ", env!("CARGO_PKG_VERSION")).into(),
            ),
            SectionHeaderOption::Comment(
                "Made from a bridge recording: the bytes are as recorded; the Ethernet, IP and \
                 TCP/UDP headers around them are synthetic (no retransmissions, options or \
                 real MACs)"
                    .into(),
            ),
        ],
        ..SectionHeaderBlock::default()
    };
    let fail = |e: pcap_file::PcapError| format!("cannot write the pcapng file: {e}");
    let mut writer = PcapNgWriter::with_section_header(out, section).map_err(fail)?;
    writer
        .write_pcapng_block(InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options: vec![
                InterfaceDescriptionOption::IfName("bridge".into()),
                // pcap-file writes times in nanoseconds; the recording's are microseconds.
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        })
        .map_err(fail)?;
    let mut packets: Vec<Packet> = Vec::new();
    for (i, conversation) in conversations.iter().enumerate() {
        Stream::new(conversation, i).packets(conversation, &mut packets);
    }
    // Conversations interleave as they happened; each keeps its own order (a stable sort).
    packets.sort_by_key(|p| p.at);
    for packet in &packets {
        let mut options = Vec::new();
        if let Some(comment) = &packet.comment {
            options.push(EnhancedPacketOption::Comment(comment.as_str().into()));
        }
        writer
            .write_pcapng_block(EnhancedPacketBlock {
                interface_id: 0,
                timestamp: Duration::from_micros(packet.at.max(0) as u64),
                original_len: packet.data.len() as u32,
                data: packet.data.as_slice().into(),
                options,
            })
            .map_err(fail)?;
    }
    Ok(Written {
        conversations: conversations.len(),
        packets: packets.len(),
    })
}

struct Packet {
    at: Micros,
    data: Vec<u8>,
    comment: Option<String>,
}

/// One conversation's two ends, and where each is in its byte stream.
struct Stream {
    client: SocketAddr,
    server: SocketAddr,
    /// The next sequence number each end sends: client, server.
    next: [u32; 2],
    /// What the first packet says of it.
    comment: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Client = 0,
    Server = 1,
}

impl End {
    fn other(self) -> End {
        match self {
            End::Client => End::Server,
            End::Server => End::Client,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Flags {
    syn: bool,
    fin: bool,
    rst: bool,
    psh: bool,
    ack: bool,
}

impl Stream {
    fn new(c: &Conversation, index: usize) -> Stream {
        let parse = |a: &Option<String>| a.as_deref().and_then(|a| a.parse::<SocketAddr>().ok());
        let peer = parse(&c.peer);
        let local = parse(&c.local);
        let (client, server, whose) = if let Some(proxy) = &c.proxy {
            let server = parse(&proxy.server).or_else(|| parse(&Some(proxy.target.clone())));
            (peer, server, "client, then server")
        } else if c.bridge_is_client() {
            (local, peer, "the bridge, then its peer")
        } else {
            (peer, local, "the peer, then the bridge")
        };
        // Placeholders differ by conversation, so that each stays a stream of its own.
        let unknown_client = SocketAddr::from((UNKNOWN_CLIENT, 49_152 + (index % 16_384) as u16));
        let unknown_server = SocketAddr::from((UNKNOWN_SERVER, UNKNOWN_SERVER_PORT));
        let mut missing = Vec::new();
        let client = client.unwrap_or_else(|| {
            missing.push("the client's");
            unknown_client
        });
        let mut server = server.unwrap_or_else(|| {
            missing.push("the server's");
            unknown_server
        });
        // A socket listening on every interface has no one address: the peer's family's.
        if server.ip().is_unspecified() && client.ip().is_ipv4() {
            server.set_ip(IpAddr::from([0, 0, 0, 0]));
        }
        let (client, server) = same_family(client, server);
        let mut comment = format!("{}: {}", c.name(), describe(c));
        comment.push_str(&format!(" (addresses: {whose})"));
        if !missing.is_empty() {
            comment.push_str(&format!(
                "; {} address is not in the recording, and {} stands in for it",
                missing.join(" and "),
                if missing.len() == 1 {
                    "a TEST-NET one"
                } else {
                    "TEST-NET ones"
                }
            ));
        }
        if let Some(note) = &c.note {
            comment.push_str("; ");
            comment.push_str(note);
        }
        if c.transport == Transport::Tls {
            comment.push_str(
                "; TLS: the payload is the plaintext the bridge saw, not the encrypted bytes on \
                 the wire",
            );
        }
        Stream {
            client,
            server,
            next: [0x1000_0000, 0x2000_0000],
            comment: Some(comment),
        }
    }

    fn packets(mut self, c: &Conversation, out: &mut Vec<Packet>) {
        let udp = c.transport == Transport::Udp;
        let start = c.opened_at.or_else(|| first_at(c)).unwrap_or(0);
        if !udp {
            self.segment(out, start, End::Client, syn(false), &[]);
            self.segment(out, start, End::Server, syn(true), &[]);
            self.segment(out, start, End::Client, ack(), &[]);
        }
        let mut finished = [false; 2];
        for event in &c.events {
            match event {
                // Said, and never sent on: no packet went.
                Happening::Message(m) if m.dropped => {}
                Happening::Message(m) => {
                    let from = if c.from_client(m) {
                        End::Client
                    } else {
                        End::Server
                    };
                    let mut note = m.injected.then(|| {
                        format!(
                            "sent by a page, as if from the {}",
                            if from == End::Client {
                                "client"
                            } else {
                                "server"
                            }
                        )
                    });
                    if udp {
                        self.datagram(out, m.at, from, &m.bytes, note);
                        continue;
                    }
                    for (i, piece) in m.bytes.chunks(MSS).enumerate() {
                        let flags = Flags {
                            psh: (i + 1) * MSS >= m.bytes.len(),
                            ack: true,
                            ..Flags::default()
                        };
                        self.comment = self.comment.take().or(note.take());
                        self.segment(out, m.at, from, flags, piece);
                        self.segment(out, m.at, from.other(), ack(), &[]);
                    }
                }
                Happening::HalfClosed { at, way } if !udp => {
                    let from = match way {
                        Way::ClientToServer => End::Client,
                        Way::ServerToClient => End::Server,
                    };
                    self.fin(out, *at, from, &mut finished);
                }
                Happening::Closed { at, reason } if !udp => {
                    let reason = reason.as_deref().unwrap_or("");
                    let first = closer(c, reason);
                    if reason.contains("reset") {
                        let flags = Flags {
                            rst: true,
                            ack: true,
                            ..Flags::default()
                        };
                        self.comment = Some(format!("closed: {reason}"));
                        self.segment(out, *at, first, flags, &[]);
                    } else {
                        self.fin(out, *at, first, &mut finished);
                        self.fin(out, *at, first.other(), &mut finished);
                    }
                }
                Happening::HalfClosed { .. } | Happening::Closed { .. } => {}
            }
        }
        // A conversation that says nothing at all still shows as one, with its comment.
        if udp && self.comment.is_some() {
            self.datagram(out, start, End::Client, &[], None);
        }
    }

    /// A FIN from `from` unless it sent one, acknowledged by the other end.
    fn fin(&mut self, out: &mut Vec<Packet>, at: Micros, from: End, finished: &mut [bool; 2]) {
        if finished[from as usize] {
            return;
        }
        finished[from as usize] = true;
        let flags = Flags {
            fin: true,
            ack: true,
            ..Flags::default()
        };
        self.segment(out, at, from, flags, &[]);
        self.segment(out, at, from.other(), ack(), &[]);
    }

    /// One TCP segment from `from`; moves its sequence number on by what it carries.
    fn segment(&mut self, out: &mut Vec<Packet>, at: Micros, from: End, f: Flags, payload: &[u8]) {
        let (src, dst) = self.ends(from);
        let seq = self.next[from as usize];
        let mut tcp = self.builder(from).tcp(src.port(), dst.port(), seq, WINDOW);
        if f.syn {
            tcp = tcp.syn();
        }
        if f.fin {
            tcp = tcp.fin();
        }
        if f.rst {
            tcp = tcp.rst();
        }
        if f.psh {
            tcp = tcp.psh();
        }
        if f.ack {
            tcp = tcp.ack(self.next[from.other() as usize]);
        }
        let mut data = Vec::with_capacity(tcp.size(payload.len()));
        tcp.write(&mut data, payload)
            .expect("a segment of at most MSS bytes fits a packet");
        let taken = payload.len() as u32 + u32::from(f.syn) + u32::from(f.fin);
        self.next[from as usize] = seq.wrapping_add(taken);
        out.push(Packet {
            at,
            data,
            comment: self.comment.take(),
        });
    }

    fn datagram(
        &mut self,
        out: &mut Vec<Packet>,
        at: Micros,
        from: End,
        payload: &[u8],
        note: Option<String>,
    ) {
        let (src, dst) = self.ends(from);
        let udp = self.builder(from).udp(src.port(), dst.port());
        let mut data = Vec::with_capacity(udp.size(payload.len()));
        // A recorded datagram is at most 65,507 bytes, which a UDP packet holds.
        if udp.write(&mut data, payload).is_err() {
            return;
        }
        let comment = match (self.comment.take(), note) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        out.push(Packet { at, data, comment });
    }

    fn ends(&self, from: End) -> (SocketAddr, SocketAddr) {
        match from {
            End::Client => (self.client, self.server),
            End::Server => (self.server, self.client),
        }
    }

    fn builder(&self, from: End) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
        let (src, dst) = self.ends(from);
        let (src_mac, dst_mac) = match from {
            End::Client => (CLIENT_MAC, SERVER_MAC),
            End::Server => (SERVER_MAC, CLIENT_MAC),
        };
        let ethernet = PacketBuilder::ethernet2(src_mac, dst_mac);
        match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => ethernet.ipv4(s.octets(), d.octets(), 64),
            (s, d) => ethernet.ipv6(v6(s).octets(), v6(d).octets(), 64),
        }
    }
}

fn syn(ack: bool) -> Flags {
    Flags {
        syn: true,
        ack,
        ..Flags::default()
    }
}

fn ack() -> Flags {
    Flags {
        ack: true,
        ..Flags::default()
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Both ends as IPv4 when both are (an IPv4-mapped address counts as its IPv4), else as IPv6.
fn same_family(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    let canonical = |s: SocketAddr| SocketAddr::new(s.ip().to_canonical(), s.port());
    let (a, b) = (canonical(a), canonical(b));
    if a.is_ipv4() == b.is_ipv4() {
        return (a, b);
    }
    (
        SocketAddr::new(IpAddr::V6(v6(a.ip())), a.port()),
        SocketAddr::new(IpAddr::V6(v6(b.ip())), b.port()),
    )
}

fn first_at(c: &Conversation) -> Option<Micros> {
    c.events
        .iter()
        .map(|e| match e {
            Happening::Message(m) => m.at,
            Happening::HalfClosed { at, .. } | Happening::Closed { at, .. } => *at,
        })
        .next()
}

/// `TCP, accepted from 127.0.0.1:57716 on 127.0.0.1:7777`, as the recording has it.
fn describe(c: &Conversation) -> String {
    let or_unknown = |a: &Option<String>| {
        a.clone()
            .unwrap_or_else(|| "an address not recorded".into())
    };
    let transport = c.transport.as_str().to_uppercase();
    match (&c.proxy, c.origin) {
        (Some(proxy), _) => format!(
            "{transport}, proxied: client {} to server {} (through the bridge on {})",
            or_unknown(&c.peer),
            proxy.server.as_deref().unwrap_or(&proxy.target),
            or_unknown(&c.local),
        ),
        (None, Some(Origin::Dialled)) => format!(
            "{transport}, dialled by the bridge from {} to {}",
            or_unknown(&c.local),
            or_unknown(&c.peer)
        ),
        (None, Some(Origin::Accepted)) => format!(
            "{transport}, accepted from {} on {}",
            or_unknown(&c.peer),
            or_unknown(&c.local)
        ),
        (None, None) => format!(
            "{transport} (the recording does not say who connected: its peer is taken as the \
             client)"
        ),
    }
}

/// Which end closes first: the one the reason names (the peer, a proxy's side), else the
/// bridge's end.
fn closer(c: &Conversation, reason: &str) -> End {
    if c.proxy.is_some() {
        return if reason.starts_with("the server") {
            End::Server
        } else {
            End::Client
        };
    }
    let peer = if c.bridge_is_client() {
        End::Server
    } else {
        End::Client
    };
    if reason.contains("the peer") {
        peer
    } else {
        peer.other()
    }
}
