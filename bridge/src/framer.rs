//! Cuts a connection's byte stream into the peer's messages, as its [`Framing`] says.
//!
//! TCP delivers bytes, not messages: a message may come over two reads, or two in one read. The
//! framer is fed each read and hands back the messages it completes, keeping the leftover for
//! the next read. It is pure: no socket, no clock (the time is passed in, so `idle` framing is
//! as deterministic as the rest).
//!
//! **The stream is never changed**: the framer only decides where to cut it. Concatenating every
//! [`Piece`] it returns (from [`Framer::push`], [`Framer::poll_idle`], [`Framer::set_framing`] and
//! [`Framer::finish`]) gives exactly the bytes fed to it, in order. Each piece says how it ends:
//!
//! - [`End::Whole`]: where the framing says a message ends (or a raw read ends);
//! - [`End::Cut`]: at [`MAX_MESSAGE`] bytes, because the message is longer: the rest follows in
//!   the next piece, which has `continues` set. A peer that never sends a delimiter therefore
//!   costs at most that much memory, and nothing is lost;
//! - [`End::Unfinished`]: the connection closed ([`Framer::finish`]) or the framing changed
//!   ([`Framer::set_framing`]) before the message ended.
//!
//! A piece with `continues` set is the rest of a message that was cut: whole or not, it is not a
//! message on its own, so rules and the exit word should look only at pieces that are
//! [`Piece::is_whole`].
//!
//! Idle framing needs time: [`Framer::next_deadline`] says when the pending bytes will have been
//! silent long enough, and [`Framer::poll_idle`] at or after it hands them over. A read that
//! arrives after the deadline first ends the pending message, so a late poll never glues two
//! messages together.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use protocol::framing::{Framing, MAX_MESSAGE};

/// How a piece ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Where the framing says a message ends.
    Whole,
    /// At the maximum size; the message goes on in the next piece.
    Cut,
    /// The connection closed, or the framing changed, before the message ended.
    Unfinished,
}

/// A piece of the stream: a message, or part of one (see [`End`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub bytes: Bytes,
    pub end: End,
    /// This piece goes on from a piece that was [`End::Cut`].
    pub continues: bool,
}

impl Piece {
    /// Whether this piece is one whole message, from its first byte to its last.
    pub fn is_whole(&self) -> bool {
        self.end == End::Whole && !self.continues
    }
}

/// The framing state of one connection.
#[derive(Debug)]
pub struct Framer {
    framing: Framing,
    /// The longest piece: [`MAX_MESSAGE`], smaller in tests.
    max: usize,
    /// Bytes received and not yet handed over.
    buf: BytesMut,
    /// Fixed and length-prefixed: how many bytes of the current message are left, counted
    /// from the start of `buf`, once its length is known.
    remaining: Option<u64>,
    /// Delimiter: `buf` holds no delimiter starting before this.
    scanned: usize,
    /// Idle: when the last byte arrived.
    last: Option<Instant>,
    /// The last piece handed over was cut.
    after_cut: bool,
}

impl Framer {
    /// A framer for `framing`, or why the framing is not valid.
    pub fn new(framing: Framing) -> Result<Framer, String> {
        Framer::with_max(framing, MAX_MESSAGE)
    }

    fn with_max(framing: Framing, max: usize) -> Result<Framer, String> {
        framing.validate()?;
        Ok(Framer {
            framing,
            max,
            buf: BytesMut::new(),
            remaining: None,
            scanned: 0,
            last: None,
            after_cut: false,
        })
    }

    /// How many bytes the framer holds, waiting for their message to end.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Feeds the bytes of one read, received at `now`; returns the pieces they complete.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<Piece> {
        let mut out = Vec::new();
        // Silence long enough ended the pending message, whether or not it was polled in time.
        out.extend(self.poll_idle(now));
        if bytes.is_empty() {
            return out;
        }
        match &self.framing {
            Framing::Raw => {
                let mut chunks = bytes.chunks(self.max).peekable();
                while let Some(chunk) = chunks.next() {
                    let end = if chunks.peek().is_some() {
                        End::Cut
                    } else {
                        End::Whole
                    };
                    out.push(self.piece(Bytes::copy_from_slice(chunk), end));
                }
            }
            Framing::Idle { .. } => {
                self.buf.extend_from_slice(bytes);
                self.last = Some(now);
                // Keep the last `max` bytes or fewer: they may yet be a whole message.
                while self.buf.len() > self.max {
                    out.push(self.split(self.max, End::Cut));
                }
            }
            Framing::Delimiter { .. } => {
                self.buf.extend_from_slice(bytes);
                self.drain_delimited(&mut out);
            }
            Framing::Fixed { .. } | Framing::LengthPrefixed { .. } => {
                self.buf.extend_from_slice(bytes);
                self.drain_counted(&mut out);
            }
        }
        out
    }

    /// Idle framing: the pending message, if it has been silent for the gap by `now`.
    pub fn poll_idle(&mut self, now: Instant) -> Option<Piece> {
        let deadline = self.next_deadline()?;
        (now >= deadline).then(|| self.split(self.buf.len(), End::Whole))
    }

    /// Idle framing: when the pending bytes will have been silent for the gap, if any are pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (&self.framing, self.last) {
            (Framing::Idle { gap_ms }, Some(last)) if !self.buf.is_empty() => {
                Some(last + Duration::from_millis(u64::from(*gap_ms)))
            }
            _ => None,
        }
    }

    /// The connection closed: the leftover, if any, as an [`End::Unfinished`] piece. In idle
    /// framing the close ends the message as silence would, so it is [`End::Whole`].
    pub fn finish(&mut self) -> Option<Piece> {
        let end = match self.framing {
            Framing::Idle { .. } => End::Whole,
            _ => End::Unfinished,
        };
        self.flush(end)
    }

    /// Cuts the bytes that follow with `framing`. The leftover, framed the old way, is not
    /// re-read the new way: it is returned as an [`End::Unfinished`] piece, so the change
    /// applies exactly from the next byte on. Setting the framing already in force changes
    /// nothing (the leftover stays). An invalid framing is refused and the old one stays.
    pub fn set_framing(&mut self, framing: Framing) -> Result<Option<Piece>, String> {
        framing.validate()?;
        if framing == self.framing {
            return Ok(None);
        }
        let leftover = self.flush(End::Unfinished);
        self.framing = framing;
        Ok(leftover)
    }

    /// Hands over whatever is pending as one piece ending with `end`, and starts afresh.
    fn flush(&mut self, end: End) -> Option<Piece> {
        let piece = (!self.buf.is_empty()).then(|| self.split(self.buf.len(), end));
        self.remaining = None;
        self.scanned = 0;
        self.last = None;
        self.after_cut = false;
        piece
    }

    /// The first `n` bytes of `buf` as a piece.
    fn split(&mut self, n: usize, end: End) -> Piece {
        self.scanned = 0;
        let bytes = self.buf.split_to(n).freeze();
        self.piece(bytes, end)
    }

    fn piece(&mut self, bytes: Bytes, end: End) -> Piece {
        let continues = std::mem::replace(&mut self.after_cut, end == End::Cut);
        Piece {
            bytes,
            end,
            continues,
        }
    }

    /// Delimiter framing: a message ends with the first delimiter that ends within `max` bytes
    /// of its start; without one, it is cut at `max`.
    fn drain_delimited(&mut self, out: &mut Vec<Piece>) {
        let Framing::Delimiter { delimiter } = &self.framing else {
            return;
        };
        let delimiter = delimiter.bytes().to_vec();
        loop {
            let window = self.buf.len().min(self.max);
            match find(&self.buf[..window], &delimiter, self.scanned) {
                Some(at) => out.push(self.split(at + delimiter.len(), End::Whole)),
                None if self.buf.len() >= self.max => out.push(self.split(self.max, End::Cut)),
                None => {
                    self.scanned = (window + 1).saturating_sub(delimiter.len());
                    return;
                }
            }
        }
    }

    /// Fixed and length-prefixed framing: once a message's length is known, hand it over when
    /// it is all here, or in pieces of `max` while it is longer than that.
    fn drain_counted(&mut self, out: &mut Vec<Piece>) {
        loop {
            let Some(remaining) = self.remaining.or_else(|| self.message_len()) else {
                return;
            };
            let max = self.max as u64;
            let have = self.buf.len() as u64;
            if remaining <= max && have >= remaining {
                self.remaining = None;
                out.push(self.split(remaining as usize, End::Whole));
            } else if remaining > max && have >= max {
                self.remaining = Some(remaining - max);
                out.push(self.split(self.max, End::Cut));
            } else {
                self.remaining = Some(remaining);
                return;
            }
        }
    }

    /// The length of the message at the start of `buf`, once its header is here.
    fn message_len(&self) -> Option<u64> {
        match self.framing {
            Framing::Fixed { len } => Some(u64::from(len)),
            Framing::LengthPrefixed {
                width,
                big_endian,
                offset,
                includes_header,
                trailer,
            } => {
                let start = offset as usize;
                let header = start + usize::from(width);
                let field = self.buf.get(start..header)?;
                let mut value = [0u8; 8];
                if big_endian {
                    value[8 - field.len()..].copy_from_slice(field);
                } else {
                    value[..field.len()].copy_from_slice(field);
                }
                let len = if big_endian {
                    u64::from_be_bytes(value)
                } else {
                    u64::from_le_bytes(value)
                };
                let header = header as u64;
                // A length too small to cover the header it counts is taken as the header
                // alone, so that the stream moves on.
                let counted = if includes_header {
                    len.max(header)
                } else {
                    header + len
                };
                Some(counted + u64::from(trailer))
            }
            _ => None,
        }
    }
}

/// Where `needle` first occurs in `hay`, starting at `from` or later.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let next = at + hay[at..].iter().position(|&b| b == first)?;
        if hay.get(next..next + needle.len()) == Some(needle) {
            return Some(next);
        }
        at = next + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use protocol::framing::Delimiter;

    fn at(ms: u64) -> Instant {
        thread_local!(static START: Instant = Instant::now());
        START.with(|start| *start + Duration::from_millis(ms))
    }

    fn delimiter(bytes: &[u8]) -> Framing {
        Framing::Delimiter {
            delimiter: Delimiter(bytes.to_vec()),
        }
    }

    fn lp(width: u8, big_endian: bool, offset: u32, includes_header: bool) -> Framing {
        lpt(width, big_endian, offset, includes_header, 0)
    }

    /// A length prefix with a trailer.
    fn lpt(
        width: u8,
        big_endian: bool,
        offset: u32,
        includes_header: bool,
        trailer: u32,
    ) -> Framing {
        Framing::LengthPrefixed {
            width,
            big_endian,
            offset,
            includes_header,
            trailer,
        }
    }

    /// What a frame is, in a form that is easy to compare.
    /// A piece, flattened for comparison: its bytes, its end, whether it continues.
    type Flat = (Vec<u8>, End, bool);

    fn pieces(frames: impl IntoIterator<Item = Piece>) -> Vec<Flat> {
        frames
            .into_iter()
            .map(|f| (f.bytes.to_vec(), f.end, f.continues))
            .collect()
    }

    fn piece(bytes: &[u8], end: End, continues: bool) -> Flat {
        (bytes.to_vec(), end, continues)
    }

    /// Feeds `reads` at time 0, then finishes.
    fn frame_all(framer: &mut Framer, reads: &[&[u8]]) -> Vec<Flat> {
        let mut frames = Vec::new();
        for read in reads {
            frames.extend(framer.push(read, at(0)));
        }
        frames.extend(framer.finish());
        pieces(frames)
    }

    #[test]
    fn raw_gives_one_frame_per_read() {
        let mut framer = Framer::new(Framing::Raw).unwrap();
        assert_eq!(
            frame_all(&mut framer, &[b"hel", b"lo\nwor", b"ld\n"]),
            [
                piece(b"hel", End::Whole, false),
                piece(b"lo\nwor", End::Whole, false),
                piece(b"ld\n", End::Whole, false),
            ]
        );
        assert_eq!(framer.pending(), 0);
    }

    #[test]
    fn lines_are_whole_however_they_arrive() {
        let mut framer = Framer::new(delimiter(b"\r\n")).unwrap();
        let frames = frame_all(
            &mut framer,
            &[b"*IDN?\r", b"\nMEAS:VOLT?\r\nSYST:", b"ERR?"],
        );
        assert_eq!(
            frames,
            [
                piece(b"*IDN?\r\n", End::Whole, false),
                piece(b"MEAS:VOLT?\r\n", End::Whole, false),
                piece(b"SYST:ERR?", End::Unfinished, false),
            ]
        );
        let mut nul = Framer::new(delimiter(b"\0")).unwrap();
        assert_eq!(
            frame_all(&mut nul, &[b"a\0\0b\0"]),
            [
                piece(b"a\0", End::Whole, false),
                piece(b"\0", End::Whole, false),
                piece(b"b\0", End::Whole, false),
            ]
        );
    }

    #[test]
    fn fixed_frames_count_bytes() {
        let mut framer = Framer::new(Framing::Fixed { len: 3 }).unwrap();
        assert_eq!(
            frame_all(&mut framer, &[b"ab", b"cdefg"]),
            [
                piece(b"abc", End::Whole, false),
                piece(b"def", End::Whole, false),
                piece(b"g", End::Unfinished, false),
            ]
        );
    }

    #[test]
    fn length_prefixes_in_every_form() {
        let frame = |framing: Framing, stream: &[u8]| {
            let mut framer = Framer::new(framing).unwrap();
            frame_all(&mut framer, &[stream])
        };
        // 2 bytes big-endian: 3 bytes follow.
        assert_eq!(
            frame(lp(2, true, 0, false), b"\x00\x03abc\x00\x01z"),
            [
                piece(b"\x00\x03abc", End::Whole, false),
                piece(b"\x00\x01z", End::Whole, false),
            ]
        );
        // 2 bytes little-endian.
        assert_eq!(
            frame(lp(2, false, 0, false), b"\x02\x00ab"),
            [piece(b"\x02\x00ab", End::Whole, false)]
        );
        // 1 byte, after a 2-byte address and function code, counting the whole message.
        assert_eq!(
            frame(lp(1, true, 2, true), b"\x01\x03\x05xy\x01\x03\x04z"),
            [
                piece(b"\x01\x03\x05xy", End::Whole, false),
                piece(b"\x01\x03\x04z", End::Whole, false),
            ]
        );
        // 4 bytes big-endian, and a zero length: a message of the header alone.
        assert_eq!(
            frame(lp(4, true, 0, false), b"\0\0\0\0\0\0\0\x01!"),
            [
                piece(b"\0\0\0\0", End::Whole, false),
                piece(b"\0\0\0\x01!", End::Whole, false),
            ]
        );
        // A length that says less than its own header is taken as the header.
        assert_eq!(
            frame(lp(2, true, 1, true), b"A\x00\x01B\x00\x04x"),
            [
                piece(b"A\x00\x01", End::Whole, false),
                piece(b"B\x00\x04x", End::Whole, false),
            ]
        );
        // A header that never completes.
        assert_eq!(
            frame(lp(2, true, 3, false), b"abc\x00"),
            [piece(b"abc\x00", End::Unfinished, false)]
        );
        // A trailer after what the length counts: 2 bytes, then a byte after the length.
        assert_eq!(
            frame(lpt(1, true, 0, false, 2), b"\x01a!!\x00??\x02"),
            [
                piece(b"\x01a!!", End::Whole, false),
                piece(b"\x00??", End::Whole, false),
                piece(b"\x02", End::Unfinished, false),
            ]
        );
        // Modbus RTU replies to reads: address, function, a byte count, the data, then a CRC the
        // count leaves out. The Modbus specification's example (registers 108 to 110: 0x022b,
        // 0, 0x64) from slave 0x11, then slave 1's two registers, glued in one read.
        assert_eq!(
            frame(
                lpt(1, true, 2, false, 2),
                b"\x11\x03\x06\x02\x2b\x00\x00\x00\x64\xc8\xba\x01\x03\x04\x00\x01\x00\x2a\x2a\x2c"
            ),
            [
                piece(
                    b"\x11\x03\x06\x02\x2b\x00\x00\x00\x64\xc8\xba",
                    End::Whole,
                    false
                ),
                piece(b"\x01\x03\x04\x00\x01\x00\x2a\x2a\x2c", End::Whole, false),
            ]
        );
        // Counting the header, and a trailer after it.
        assert_eq!(
            frame(lpt(1, true, 1, true, 1), b"A\x03b;"),
            [piece(b"A\x03b;", End::Whole, false)]
        );
    }

    #[test]
    fn a_message_over_the_maximum_is_cut_and_goes_on() {
        // The real maximum, with a peer that never sends the delimiter.
        let mut framer = Framer::new(delimiter(b"\n")).unwrap();
        let flood = vec![b'x'; MAX_MESSAGE + 10];
        let frames = framer.push(&flood, at(0));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].bytes.len(), MAX_MESSAGE);
        assert_eq!(frames[0].end, End::Cut);
        assert_eq!(framer.pending(), 10);
        let rest = framer.push(b"y\nz\n", at(0));
        assert_eq!(
            pieces(rest),
            [
                piece(b"xxxxxxxxxxy\n", End::Whole, true),
                piece(b"z\n", End::Whole, false),
            ]
        );

        // A length prefix that claims 4 GiB: cut every MAX_MESSAGE bytes, never re-read as a header.
        let mut framer = Framer::with_max(lp(4, true, 0, false), 4).unwrap();
        let frames = frame_all(&mut framer, &[b"\x00\x00\x00\x06abcdef\x00\x00\x00\x00"]);
        assert_eq!(
            frames,
            [
                piece(b"\x00\x00\x00\x06", End::Cut, false),
                piece(b"abcd", End::Cut, true),
                piece(b"ef", End::Whole, true),
                piece(b"\x00\x00\x00\x00", End::Whole, false),
            ]
        );

        // A raw read larger than the maximum.
        let mut framer = Framer::with_max(Framing::Raw, 4).unwrap();
        assert_eq!(
            frame_all(&mut framer, &[b"abcdefghij"]),
            [
                piece(b"abcd", End::Cut, false),
                piece(b"efgh", End::Cut, true),
                piece(b"ij", End::Whole, true),
            ]
        );
    }

    #[test]
    fn idle_ends_a_message_after_the_gap() {
        let mut framer = Framer::new(Framing::Idle { gap_ms: 20 }).unwrap();
        assert_eq!(framer.next_deadline(), None);
        assert!(framer.push(b"AT", at(0)).is_empty());
        assert!(framer.push(b"+X", at(15)).is_empty());
        assert_eq!(framer.next_deadline(), Some(at(35)));
        assert_eq!(framer.poll_idle(at(34)), None);
        let frame = framer.poll_idle(at(35)).unwrap();
        assert_eq!(&frame.bytes[..], b"AT+X");
        assert!(frame.is_whole());
        assert_eq!(framer.next_deadline(), None);
        assert_eq!(framer.poll_idle(at(100)), None);

        // A read after the deadline ends the pending message first, polled or not.
        assert!(framer.push(b"one", at(100)).is_empty());
        let frames = framer.push(b"two", at(500));
        assert_eq!(pieces(frames), [piece(b"one", End::Whole, false)]);
        // Closing ends the message as silence would.
        assert_eq!(
            framer.finish().map(|f| (f.bytes.to_vec(), f.end)),
            Some((b"two".to_vec(), End::Whole))
        );
        assert_eq!(framer.finish(), None);
    }

    #[test]
    fn idle_cuts_a_message_that_never_pauses() {
        let mut framer = Framer::with_max(Framing::Idle { gap_ms: 5 }, 4).unwrap();
        let frames = framer.push(b"abcdefghij", at(0));
        assert_eq!(
            pieces(frames),
            [
                piece(b"abcd", End::Cut, false),
                piece(b"efgh", End::Cut, true)
            ]
        );
        // Exactly the maximum is not over it: it waits for the silence.
        assert!(framer.push(b"kl", at(1)).is_empty());
        assert_eq!(
            pieces(framer.poll_idle(at(6))),
            [piece(b"ijkl", End::Whole, true)]
        );
    }

    #[test]
    fn a_new_framing_applies_from_the_next_byte() {
        let mut framer = Framer::new(delimiter(b"\n")).unwrap();
        assert_eq!(
            pieces(framer.push(b"a\nhalf", at(0))),
            [piece(b"a\n", End::Whole, false)]
        );
        // The same framing again keeps the leftover.
        assert_eq!(framer.set_framing(delimiter(b"\n")), Ok(None));
        assert_eq!(framer.pending(), 4);
        // A new one hands the leftover over as unfinished, and frames what follows.
        let leftover = framer.set_framing(Framing::Fixed { len: 2 }).unwrap();
        assert_eq!(pieces(leftover), [piece(b"half", End::Unfinished, false)]);
        assert_eq!(framer.framing, Framing::Fixed { len: 2 });
        assert_eq!(
            frame_all(&mut framer, &[b"x\nyz"]),
            [
                piece(b"x\n", End::Whole, false),
                piece(b"yz", End::Whole, false)
            ]
        );
        // An invalid framing is refused and changes nothing.
        framer.push(b"q", at(0));
        assert_eq!(
            framer.set_framing(Framing::Fixed { len: 0 }).unwrap_err(),
            "a fixed length of 0 bytes is not allowed: give 1 to 1048576"
        );
        assert_eq!(framer.pending(), 1);
        assert_eq!(framer.framing, Framing::Fixed { len: 2 });
        // From idle, the pending bytes did not get their silence: unfinished.
        let mut idle = Framer::new(Framing::Idle { gap_ms: 10 }).unwrap();
        idle.push(b"ab", at(0));
        let leftover = idle.set_framing(Framing::Raw).unwrap().unwrap();
        assert_eq!(leftover.end, End::Unfinished);
        assert_eq!(idle.next_deadline(), None);
    }

    #[test]
    fn invalid_framings_are_refused() {
        assert!(Framer::new(lp(3, true, 0, false)).is_err());
        assert!(Framer::new(delimiter(b"")).is_err());
        assert!(Framer::new(Framing::Idle { gap_ms: 0 }).is_err());
    }

    #[test]
    fn find_finds_the_first_occurrence_from_a_position() {
        assert_eq!(find(b"abcabc", b"bc", 0), Some(1));
        assert_eq!(find(b"abcabc", b"bc", 2), Some(4));
        assert_eq!(find(b"abcab", b"bc", 2), None);
        assert_eq!(find(b"aaa", b"aa", 0), Some(0));
        assert_eq!(find(b"", b"a", 0), None);
        assert_eq!(find(b"ab", b"a", 5), None);
    }

    // The properties: whatever the reads, the frames are those of the whole stream, and they
    // are the stream.

    /// Streams over a small alphabet, so that delimiters and small lengths are common.
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(b'\r'),
                Just(b'\n'),
                Just(0u8),
                Just(1u8),
                Just(b'a'),
                any::<u8>()
            ],
            0..200,
        )
    }

    /// Cut points, as fractions of the stream.
    fn cuts() -> impl Strategy<Value = Vec<prop::sample::Index>> {
        prop::collection::vec(any::<prop::sample::Index>(), 0..12)
    }

    fn split<'a>(stream: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        points.windows(2).map(|w| &stream[w[0]..w[1]]).collect()
    }

    fn counted_framing() -> impl Strategy<Value = Framing> {
        prop_oneof![
            (1u32..8).prop_map(|len| Framing::Fixed { len }),
            (
                prop_oneof![Just(1u8), Just(2u8), Just(4u8)],
                any::<bool>(),
                0u32..4,
                any::<bool>(),
                prop_oneof![Just(0u32), 1u32..4],
            )
                .prop_map(|(w, be, off, inc, trailer)| lpt(w, be, off, inc, trailer)),
        ]
    }

    fn delimited_framing() -> impl Strategy<Value = Framing> {
        prop_oneof![
            Just(delimiter(b"\n")),
            Just(delimiter(b"\r\n")),
            Just(delimiter(b"\0")),
            Just(delimiter(b"aa")),
            prop::collection::vec(any::<u8>(), 1..4).prop_map(|d| delimiter(&d)),
        ]
    }

    /// Delimiter framing, restated plainly over the whole stream.
    fn reference_delimited(stream: &[u8], delim: &[u8], max: usize) -> Vec<Flat> {
        let mut out = Vec::new();
        let (mut pos, mut after_cut) = (0, false);
        while pos < stream.len() {
            let rest = &stream[pos..];
            let ends =
                (delim.len()..=rest.len().min(max)).find(|&end| rest[..end].ends_with(delim));
            let (len, end) = match ends {
                Some(len) => (len, End::Whole),
                None if rest.len() >= max => (max, End::Cut),
                None => (rest.len(), End::Unfinished),
            };
            out.push(piece(&rest[..len], end, after_cut));
            after_cut = end == End::Cut;
            pos += len;
        }
        out
    }

    /// Fixed and length-prefixed framing, restated plainly over the whole stream.
    fn reference_counted(stream: &[u8], framing: &Framing, max: usize) -> Vec<Flat> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < stream.len() {
            let rest = &stream[pos..];
            let total = match *framing {
                Framing::Fixed { len } => Some(len as usize),
                Framing::LengthPrefixed {
                    width,
                    big_endian,
                    offset,
                    includes_header,
                    trailer,
                } => {
                    let header = offset as usize + width as usize;
                    rest.get(offset as usize..header).map(|field| {
                        let mut field = field.to_vec();
                        if !big_endian {
                            field.reverse();
                        }
                        let len = field.iter().fold(0usize, |n, &b| n << 8 | b as usize);
                        let counted = if includes_header {
                            len.max(header)
                        } else {
                            header + len
                        };
                        counted + trailer as usize
                    })
                }
                _ => unreachable!(),
            };
            let Some(total) = total.filter(|&t| t <= rest.len() || rest.len() >= max) else {
                // Not all here, and not enough to cut: what is left is unfinished.
                out.push(piece(rest, End::Unfinished, false));
                break;
            };
            // The message, in pieces of `max`; an incomplete last piece is unfinished.
            let message = &rest[..total.min(rest.len())];
            let mut chunks = message.chunks(max).peekable();
            let mut first = true;
            while let Some(chunk) = chunks.next() {
                let end =
                    if chunks.peek().is_some() || (chunk.len() == max && total > message.len()) {
                        End::Cut
                    } else if message.len() == total {
                        End::Whole
                    } else {
                        End::Unfinished
                    };
                out.push(piece(chunk, end, !first));
                first = false;
            }
            pos += message.len();
        }
        out
    }

    fn concat(pieces: &[Flat]) -> Vec<u8> {
        pieces.iter().flat_map(|p| p.0.clone()).collect()
    }

    proptest! {
        #[test]
        fn delimited_frames_do_not_depend_on_the_reads(
            framing in delimited_framing(), stream in stream(), cuts in cuts(), max in 1usize..16,
        ) {
            let Framing::Delimiter { delimiter: d } = &framing else { unreachable!() };
            let mut framer = Framer::with_max(framing.clone(), max).unwrap();
            let frames = frame_all(&mut framer, &split(&stream, &cuts));
            prop_assert_eq!(concat(&frames), stream.clone());
            prop_assert!(frames.iter().all(|p| p.0.len() <= max));
            prop_assert_eq!(frames, reference_delimited(&stream, d.bytes(), max));
        }

        #[test]
        fn counted_frames_do_not_depend_on_the_reads(
            framing in counted_framing(), stream in stream(), cuts in cuts(), max in 1usize..16,
        ) {
            let mut framer = Framer::with_max(framing.clone(), max).unwrap();
            let frames = frame_all(&mut framer, &split(&stream, &cuts));
            let mut whole = Framer::with_max(framing.clone(), max).unwrap();
            prop_assert_eq!(&frames, &frame_all(&mut whole, &[&stream]));
            prop_assert_eq!(concat(&frames), stream.clone());
            prop_assert_eq!(frames, reference_counted(&stream, &framing, max));
        }

        #[test]
        fn raw_frames_are_the_reads(stream in stream(), cuts in cuts(), max in 1usize..16) {
            let reads = split(&stream, &cuts);
            let mut framer = Framer::with_max(Framing::Raw, max).unwrap();
            let frames = frame_all(&mut framer, &reads);
            prop_assert_eq!(concat(&frames), stream.clone());
            let expected: Vec<Flat> = reads
                .iter()
                .filter(|r| !r.is_empty())
                .flat_map(|read| {
                    let n = read.len().div_ceil(max);
                    read.chunks(max).enumerate().map(move |(i, chunk)| {
                        let end = if i + 1 < n { End::Cut } else { End::Whole };
                        piece(chunk, end, i > 0)
                    })
                })
                .collect();
            prop_assert_eq!(frames, expected);
        }

        #[test]
        fn idle_frames_are_the_bursts(
            reads in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..20), 0u64..40), 0..30),
            polls in prop::collection::vec(any::<bool>(), 30),
            gap in 1u32..30,
            max in 1usize..40,
        ) {
            let mut framer = Framer::with_max(Framing::Idle { gap_ms: gap }, max).unwrap();
            let mut frames = Vec::new();
            let mut now = 0;
            // The bursts: reads less than `gap` after the previous byte.
            let mut bursts: Vec<Vec<u8>> = Vec::new();
            let mut last_byte: Option<u64> = None;
            for ((read, wait), poll) in reads.iter().zip(&polls) {
                now += wait;
                if *poll {
                    frames.extend(framer.poll_idle(at(now)));
                }
                // Split each read in two, at the same instant: it must not matter.
                let (a, b) = read.split_at(read.len() / 2);
                frames.extend(framer.push(a, at(now)));
                frames.extend(framer.push(b, at(now)));
                if !read.is_empty() {
                    match last_byte {
                        Some(last) if now - last < u64::from(gap) => {
                            bursts.last_mut().unwrap().extend_from_slice(read)
                        }
                        _ => bursts.push(read.clone()),
                    }
                    last_byte = Some(now);
                }
            }
            if let Some(deadline) = framer.next_deadline() {
                prop_assert_eq!(Some(deadline), last_byte.map(|l| at(l + u64::from(gap))));
                frames.extend(framer.poll_idle(deadline));
            }
            prop_assert_eq!(framer.pending(), 0);
            let frames = pieces(frames);
            let stream: Vec<u8> = reads.iter().flat_map(|(r, _)| r.clone()).collect();
            prop_assert_eq!(concat(&frames), stream);
            let expected: Vec<Flat> = bursts
                .iter()
                .flat_map(|burst| {
                    let n = burst.len().div_ceil(max);
                    burst.chunks(max).enumerate().map(move |(i, chunk)| {
                        let end = if i + 1 < n { End::Cut } else { End::Whole };
                        piece(chunk, end, i > 0)
                    })
                })
                .collect();
            prop_assert_eq!(frames, expected);
        }

        #[test]
        fn a_framing_change_splits_the_stream_where_it_happens(
            first in prop_oneof![delimited_framing(), counted_framing()],
            second in prop_oneof![delimited_framing(), counted_framing(), Just(Framing::Raw)],
            stream in stream(),
            at_byte in any::<prop::sample::Index>(),
            max in 1usize..16,
        ) {
            let (before, after) = stream.split_at(at_byte.index(stream.len() + 1));
            let mut framer = Framer::with_max(first.clone(), max).unwrap();
            let mut frames = pieces(framer.push(before, at(0)));
            let changed = first != second;
            frames.extend(pieces(framer.set_framing(second.clone()).unwrap()));
            frames.extend(frame_all(&mut framer, &[after]));
            prop_assert_eq!(concat(&frames), stream.clone());
            if changed {
                // Exactly the two halves, framed separately.
                let mut expected = frame_all(&mut Framer::with_max(first, max).unwrap(), &[before]);
                expected.extend(frame_all(&mut Framer::with_max(second, max).unwrap(), &[after]));
                prop_assert_eq!(frames, expected);
            }
        }
    }
}
