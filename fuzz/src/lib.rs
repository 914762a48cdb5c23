//! What the fuzz targets share: everything the library lets a program do with a packet it
//! parsed from untrusted bytes, with the few promises the docs make checked on the way.
//!
//! A target parses its input its own way (a message body, a datagram, a capture file, a
//! payload) and hands each packet that parsed to [`exercise_packet`].

use std::cell::RefCell;
use std::time::{Duration, UNIX_EPOCH};

use nflog::conntrack::{Conntrack, CtAttr, CtInfo};
use nflog::decode::{decode, decode_link, Decoded};
use nflog::format::{JsonFormat, ResolveInterface, TextFormat, TimeZone, XmlFormat};
use nflog::wire::Attributes;
use nflog::{OwnedPacket, Packet, PacketAttr};

/// Names even interface indexes `eth<n>` and leaves odd ones unnamed, so that the
/// formatters take both paths (a name, or the number).
struct HalfNamed(String);

impl ResolveInterface for HalfNamed {
    fn interface_name(&mut self, index: u32) -> Option<&str> {
        if index % 2 == 1 {
            return None;
        }
        self.0.clear();
        self.0.push_str("eth");
        self.0.push_str(&index.to_string());
        Some(&self.0)
    }
}

/// The formatters, built once per thread and reused, as a program would.
struct Formats {
    text: TextFormat,
    json: JsonFormat,
    xml: XmlFormat,
    out: Vec<u8>,
    names: HalfNamed,
}

thread_local! {
    static FORMATS: RefCell<Formats> = RefCell::new(Formats {
        // Fixed zones, not the machine's: a crash must replay the same anywhere. The
        // extreme offsets (UTC+14, UTC-12) push far-future timestamps past the calendar.
        text: TextFormat::new().time_zone(TimeZone::Fixed(14 * 3600)).hostname("fuzz"),
        json: JsonFormat::new().time_zone(TimeZone::Fixed(-12 * 3600)),
        xml: XmlFormat::new().time_zone(TimeZone::Utc),
        out: Vec::with_capacity(4096),
        names: HalfNamed(String::new()),
    });
}

/// Calls every accessor of `p`, parses its conntrack entry, decodes it, and writes it in
/// each output format to a `Vec`.
///
/// # Panics
///
/// When the library panics, or breaks a promise of its docs: a hardware address over 8
/// bytes, a copy that differs from the original, a formatted line that is not one line, a
/// JSON line that is not a JSON object.
pub fn exercise_packet(p: &Packet<&[u8]>) {
    touch_accessors(p);
    exercise_conntrack(p);
    let decoded = exercise_decode(p);
    exercise_formats(p, &decoded);

    let owned = OwnedPacket::from(*p);
    assert_eq!(
        owned.view().as_bytes(),
        p.as_bytes(),
        "OwnedPacket copied other bytes"
    );
    assert_eq!(owned.view().payload(), p.payload());
    let reparsed = Packet::new_checked(p.as_bytes().to_vec()).expect("a parsed body reparses");
    assert_eq!(reparsed, owned);
}

fn touch_accessors(p: &Packet<&[u8]>) {
    let _ = (p.as_bytes(), p.family(), p.version(), p.group());
    let _ = (p.hw_protocol(), p.hook_number(), p.hook());
    let _ = (p.mark(), p.timestamp_parts(), p.timestamp());
    let _ = (p.indev(), p.outdev(), p.physindev(), p.physoutdev());
    let _ = (p.payload(), p.prefix_bytes(), p.prefix());
    let _ = (p.uid(), p.gid(), p.seq(), p.seq_global());
    let _ = (p.hwtype(), p.hwheader(), p.hwlen());
    let _ = (p.conntrack(), p.ct_info(), p.l2hdr());
    if let Some(addr) = p.hwaddr() {
        assert!(
            addr.len() <= 8,
            "a hardware address of {} bytes",
            addr.len()
        );
    }
    if let Some(tag) = p.vlan() {
        let _ = (tag.id(), tag.priority(), tag.drop_eligible());
    }
    for &attr in PacketAttr::ALL {
        let _ = p.attribute(attr);
    }
    for a in p.attributes() {
        let _ = (a.kind(), a.raw_type(), a.is_nested(), a.value());
        walk(a.nested(), 0);
    }
    if let Some(cta) = p.conntrack_attributes() {
        walk(cta, 0);
    }
    let _ = format!("{p:?} {} {}", p.family(), p.hook());
}

/// Walks nested attributes as deep as they go (bounded: a nest is at least 4 bytes
/// shorter than its parent, so the depth is bounded by the length anyway).
fn walk(attrs: Attributes<'_>, depth: usize) {
    if depth > 16 {
        return;
    }
    for a in attrs.map_while(Result::ok) {
        let _ = (a.kind(), a.raw_type(), a.is_nested(), a.value());
        walk(a.nested(), depth + 1);
    }
}

fn exercise_conntrack(p: &Packet<&[u8]>) {
    if let Some(info) = CtInfo::from_packet(p) {
        let _ = (
            info.number(),
            info.name(),
            info.is_reply(),
            info.to_string(),
        );
    }
    let Ok(Some(ct)) = Conntrack::from_packet(p) else {
        return;
    };
    let _ = (ct.as_bytes(), ct.id(), ct.mark(), ct.zone(), ct.timeout());
    let _ = (ct.use_count(), ct.labels());
    if let Some(status) = ct.status() {
        let _ = (
            status.to_string(),
            format!("{status:?}"),
            status.names().count(),
        );
    }
    for tuple in [ct.original(), ct.reply(), ct.master()]
        .into_iter()
        .flatten()
    {
        let _ = format!("{tuple:?}");
    }
    let _ = (ct.counters_original(), ct.counters_reply());
    for &attr in CtAttr::ALL {
        let _ = (ct.attribute(attr), attr.name(), attr.to_string());
    }
    for a in ct.attributes() {
        walk(a.nested(), 0);
    }
    let _ = format!("{ct:?}");
}

fn exercise_decode(p: &Packet<&[u8]>) -> Decoded {
    let decoded = decode(p);
    let _ = format!("{decoded:?}");
    if let Some(link) = decode_link(p) {
        let _ = (
            link.outer_tag(),
            link.tags().count(),
            link.in_band.as_slice().len(),
        );
        let _ = format!("{link:?}");
    }
    decoded
}

fn exercise_formats(p: &Packet<&[u8]>, _decoded: &Decoded) {
    // Received at a fixed time, so that a crash replays the same.
    let received = UNIX_EPOCH + Duration::from_secs(1_795_840_506);
    FORMATS.with(|formats| {
        let f = &mut *formats.borrow_mut();

        f.out.clear();
        f.text
            .write(&mut f.out, p, received, &mut f.names)
            .expect("writing to a Vec");
        assert!(
            f.out.ends_with(b" \n"),
            "text: {:?}",
            String::from_utf8_lossy(&f.out)
        );
        assert_eq!(
            one_line(&f.out),
            1,
            "text: {:?}",
            String::from_utf8_lossy(&f.out)
        );

        f.out.clear();
        f.json
            .write(&mut f.out, p, received, &mut f.names)
            .expect("writing to a Vec");
        assert_eq!(
            one_line(&f.out),
            1,
            "json: {:?}",
            String::from_utf8_lossy(&f.out)
        );
        let text = std::str::from_utf8(&f.out).expect("json: not UTF-8");
        assert!(
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).is_ok(),
            "json: not an object: {text:?}"
        );

        f.out.clear();
        f.xml
            .write(&mut f.out, p, received, &mut f.names)
            .expect("writing to a Vec");
        assert_eq!(
            one_line(&f.out),
            1,
            "xml: {:?}",
            String::from_utf8_lossy(&f.out)
        );
        let text = std::str::from_utf8(&f.out).expect("xml: not UTF-8");
        assert!(
            text.starts_with("<log>") && text.ends_with("</log>\n"),
            "xml: {text:?}"
        );
    });
}

/// How many `\n` the output holds, checking that the last byte is one.
fn one_line(out: &[u8]) -> usize {
    assert_eq!(out.last(), Some(&b'\n'), "no newline at the end");
    out.iter().filter(|&&b| b == b'\n').count()
}
