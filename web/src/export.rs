//! A conversation as a file the user can keep: plain text to read, JSON Lines to process (the
//! same fields as the bridge's `--transcript`), pcapng for Wireshark (as the bridge's `pcap`
//! writes it). Pure, so it is tested natively; `save` hands the file to the browser.

use protocol::jsonl::RecordLine;
use protocol::recording::Conversation;
use protocol::Flow;

use crate::bytes_view::text::{render_text_in, Piece};
use crate::bytes_view::time::format_time;
use crate::encoding::{Encoding, Segment};
use crate::state::{Conv, Entry, FileSend};

/// One line per message: time (UTC), direction, and the text with escapes as the page shows it.
pub fn to_text(conv: &Conv) -> String {
    let encodings = match conv.encodings.alike() {
        Some(encoding) => encoding.label().to_owned(),
        None => format!(
            "{} client→server, {} server→client",
            conv.encodings.rx.label(),
            conv.encodings.tx.label()
        ),
    };
    let mut out = format!("# {} ({encodings})\n", conv.info.peer);
    for entry in conv.log.iter() {
        match entry {
            Entry::Record(r) => {
                let arrow = match r.head.flow {
                    Flow::Rx => "<-",
                    Flow::Tx => "->",
                };
                let text: String = render_text_in(&r.data, conv.encodings.of(r.head.flow))
                    .into_iter()
                    .map(|p| match p {
                        Piece::Text(t) | Piece::Escape(t) => t,
                    })
                    .collect();
                out.push_str(&format!(
                    "{} {arrow} {text}\n",
                    format_time(r.head.at, 0).machine
                ));
            }
            Entry::Note { text, .. } => out.push_str(&format!("# {text}\n")),
            Entry::File(f) => out.push_str(&format!("# {}\n", file_line(f))),
        }
    }
    out
}

/// A file sent, in words (its bytes are not held): `file firmware.bin: 8.0 MiB of 8.0 MiB sent`.
pub fn file_line(f: &FileSend) -> String {
    use crate::bytes_view::size::format_size;
    let name = f.name.as_deref().unwrap_or("sent before this page joined");
    match f.size {
        Some(size) => format!(
            "file {name}: {} of {} sent{}",
            format_size(f.written),
            format_size(size),
            if f.stopped && !f.done() {
                ", stopped"
            } else {
                ""
            }
        ),
        None => format!("file ({name}): {} sent", format_size(f.written)),
    }
}

/// One JSON object per message, the bridge's transcript line ([`RecordLine`]): `text` when the
/// bytes read as text in the encoding of the way they went, and `hex` whenever `text` alone
/// would not give back the exact bytes.
pub fn to_jsonl(conv: &Conv) -> String {
    let mut out = String::new();
    for entry in conv.log.iter() {
        let Entry::Record(r) = entry else { continue };
        let mut line = RecordLine::new(&r.head, &r.data, r.rule.as_deref());
        let encoding = conv.encodings.of(r.head.flow);
        if encoding != Encoding::Utf8 {
            let text = match encoding.decode(&r.data).as_slice() {
                [] => Some(String::new()),
                [Segment::Text(t)] => Some(t.to_string()),
                _ => None,
            };
            line = line.read_in(encoding.label(), text, &r.data);
        }
        out.push_str(&serde_json::to_string(&line).expect("plain fields serialize"));
        out.push('\n');
    }
    out
}

/// The conversation as pcapng, the records the page holds in synthetic packets (see
/// [`protocol::pcap`]).
pub fn to_pcapng(conv: &Conv) -> Result<Vec<u8>, String> {
    let records = conv.log.iter().filter_map(|entry| match entry {
        Entry::Record(r) => Some((&r.head, &r.data[..])),
        _ => None,
    });
    let mut conversation = Conversation::from_conn(&conv.info, records);
    if let Some((msgs, bytes)) = conv.missing() {
        conversation.note = Some(format!(
            "the page no longer held its first {msgs} messages ({bytes} bytes): the streams \
             start after them (the bridge's --transcript has them)"
        ));
    }
    let mut out = Vec::new();
    protocol::pcap::write(&[conversation], &mut out)?;
    Ok(out)
}

/// Offers `content` to the user as a download named `name`.
pub fn save(name: &str, mime: &str, content: &str) -> Result<(), String> {
    save_part(name, mime, &content.into())
}

/// Offers bytes to the user as a download named `name`.
pub fn save_bytes(name: &str, mime: &str, content: &[u8]) -> Result<(), String> {
    save_part(name, mime, &js_sys::Uint8Array::from(content).into())
}

fn save_part(name: &str, mime: &str, part: &wasm_bindgen::JsValue) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let fail = |what: &str| format!("Could not save {name}: {what}.");
    let parts = js_sys::Array::of1(part);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| fail("the browser refused the data"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| fail("no URL"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| fail("no document"))?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| fail("no link"))?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{reduce, Action, State};
    use protocol::{ConnInfo, ConnState, Event, Origin, Record};

    fn conv_with(records: &[(Flow, &[u8])], encoding: Encoding) -> Conv {
        let info = ConnInfo::new(
            7,
            Origin::Accepted,
            "127.0.0.1:5000".into(),
            ConnState::Open,
            0,
        );
        let mut events = vec![crate::state::Incoming::Event(Event::Conn { conn: info })];
        for (i, (flow, data)) in records.iter().enumerate() {
            let at = 1_700_000_000_000_000 + i as i64 * 1000;
            let record = Record::new(7, i as u64 + 1, *flow, at, data.to_vec());
            events.push(crate::state::Incoming::from(record));
        }
        let mut state = reduce(State::default(), Action::Events(events));
        state = reduce(state, Action::SetEncoding(7, None, encoding));
        (*state.conns[&7]).clone()
    }

    #[test]
    fn text_reads_like_the_page() {
        let conv = conv_with(
            &[(Flow::Rx, b"hello\n"), (Flow::Tx, b"\xffok\r\n")],
            Encoding::Utf8,
        );
        assert_eq!(
            to_text(&conv),
            "# 127.0.0.1:5000 (UTF-8)\n\
             2023-11-14T22:13:20.000+00:00 <- hello\n\
             2023-11-14T22:13:20.001+00:00 -> \\xFFok\\r\n"
        );
    }

    #[test]
    fn json_lines_keep_the_exact_bytes() {
        let conv = conv_with(
            &[
                (Flow::Rx, b"hi"),
                (Flow::Rx, &[0xff]),
                (Flow::Tx, &[0xc4, 0xe3]),
            ],
            Encoding::Utf8,
        );
        let lines: Vec<serde_json::Value> = to_jsonl(&conv)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["text"], "hi");
        assert!(lines[0].get("hex").is_none());
        assert_eq!(lines[1]["hex"], "ff");
        assert!(lines[1].get("text").is_none());
        assert_eq!(lines[2]["dir"], "tx");

        let gbk = conv_with(&[(Flow::Rx, &[0xc4, 0xe3])], Encoding::Gbk);
        let line: serde_json::Value = serde_json::from_str(to_jsonl(&gbk).trim()).unwrap();
        assert_eq!(
            (&line["text"], &line["encoding"], &line["hex"]),
            (&"你".into(), &"GBK".into(), &"c4e3".into())
        );
    }

    #[test]
    fn pcapng_carries_the_exact_bytes() {
        let conv = conv_with(
            &[(Flow::Rx, b"hi\xff"), (Flow::Tx, b"ok\n")],
            Encoding::Utf8,
        );
        let file = to_pcapng(&conv).unwrap();
        // A section header block, then the bytes in their packets.
        assert_eq!(file[..4], [0x0a, 0x0d, 0x0d, 0x0a]);
        let find = |needle: &[u8]| file.windows(needle.len()).any(|w| w == needle);
        assert!(find(b"hi\xff") && find(b"ok\n"));
        assert!(find(b"conversation 7: TCP, accepted from 127.0.0.1:5000"));
        assert!(!find(b"no longer held"));

        let mut partial = conv;
        partial.elided_msgs = 3;
        partial.elided_bytes = 30;
        let file = to_pcapng(&partial).unwrap();
        let said = b"the page no longer held its first 3 messages (30 bytes)";
        assert!(file.windows(said.len()).any(|w| w == said));
    }
}
