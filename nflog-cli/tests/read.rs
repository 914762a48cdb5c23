//! `nflog read` of crafted capture files: damaged records, the other byte order, link types
//! other than NFLOG. No privilege needed: the files are built here, nothing reaches the kernel.

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nflog::conntrack::Conntrack;
use nflog::pcap::{CaptureReader, LinkType, PcapWriter, PcapngWriter};
use nflog::{Packet, PacketRepr, Vlan};
use support::{nflog_output, Scratch};

/// An IPv4 UDP datagram from 10.0.0.1:4000 to 10.0.0.2:`port`, 8 bytes of payload.
fn udp(port: u16) -> Vec<u8> {
    let mut ip = vec![
        0x45, 0, 0, 36, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip.extend_from_slice(&4000u16.to_be_bytes());
    ip.extend_from_slice(&port.to_be_bytes());
    ip.extend_from_slice(&16u16.to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(b"datagram");
    ip
}

/// An NFLOG record of group 5 at the input hook: prefix "rd", the datagram to `port`.
fn record(port: u16) -> Vec<u8> {
    PacketRepr {
        group: 5,
        hook: 1,
        prefix: Some(b"rd".to_vec()),
        payload: Some(udp(port)),
        ..PacketRepr::default()
    }
    .to_bytes()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn read(path: &Path, more: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["read", path.to_str().unwrap()];
    args.extend_from_slice(more);
    let (status, stdout, stderr) = nflog_output(&args);
    (status.code(), stdout, stderr)
}

#[test]
fn a_damaged_record_is_reported_and_the_others_printed() {
    let scratch = Scratch::new();
    // The third record's own length is sound; inside it, an attribute declares 200 bytes.
    let mut damaged = record(3);
    damaged[4..6].copy_from_slice(&200u16.to_ne_bytes());
    let records = [record(1), record(2), damaged, record(4), record(5)];

    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    let mut offsets = Vec::new();
    let mut offset = 24;
    for (i, r) in records.iter().enumerate() {
        offsets.push(offset);
        offset += 16 + r.len();
        w.write_record(at(i as u64), r, r.len()).unwrap();
    }
    let pcap = scratch.join("damaged.pcap");
    fs::write(&pcap, w.into_inner()).unwrap();
    let (code, stdout, stderr) = read(&pcap, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let ports: Vec<&str> = stdout
        .lines()
        .map(|l| l.split(" DPT=").nth(1).unwrap().split(' ').next().unwrap())
        .collect();
    assert_eq!(ports, ["1", "2", "4", "5"], "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    let expected = format!(
        "nflog: {}: record 3 at byte {} is damaged: ",
        pcap.display(),
        offsets[2]
    );
    assert!(
        lines[0].starts_with(&expected),
        "{}\nexpected: {expected}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        format!(
            "nflog: {}: 1 damaged records skipped (5 read, 4 printed)",
            pcap.display()
        )
    );

    // pcapng: a packet block whose data overruns it is skipped the same way.
    let mut w = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    for (i, r) in records.iter().enumerate() {
        let r = if i == 2 { record(3) } else { r.clone() };
        w.write_record(5, at(i as u64), &r, r.len()).unwrap();
    }
    let mut bytes = w.into_inner();
    let third = {
        let mut reader = CaptureReader::new(&bytes[..]).unwrap();
        (0..3).fold(0, |_, _| reader.next_record().unwrap().unwrap().offset) as usize
    };
    bytes[third + 20..third + 24].copy_from_slice(&5000u32.to_ne_bytes());
    let pcapng = scratch.join("damaged.pcapng");
    fs::write(&pcapng, bytes).unwrap();
    let (code, stdout, stderr) = read(&pcapng, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    let expected = format!(
        "nflog: {}: record 3 at byte {third} is damaged: packet of 5000 bytes does not fit",
        pcapng.display()
    );
    assert!(
        stderr.starts_with(&expected),
        "{stderr}\nexpected: {expected}"
    );
}

/// Appends an attribute with its header in this host's byte order, or in the other one
/// (`foreign`), padded to 4 bytes.
fn emit_in(out: &mut Vec<u8>, kind: u16, value: &[u8], foreign: bool) {
    let order = |v: u16| if foreign { v.swap_bytes() } else { v };
    out.extend_from_slice(&order(4 + value.len() as u16).to_ne_bytes());
    out.extend_from_slice(&order(kind).to_ne_bytes());
    out.extend_from_slice(value);
    out.resize((out.len() + 3) & !3, 0);
}

/// A bridge packet with a VLAN tag and its conntrack entry (id 0xdeadbeef), its attribute
/// headers in this host's byte order or the other one: NFULA_VLAN with NLA_F_NESTED,
/// NFULA_CT and its tuple nests without, as the kernel sends them.
fn nested_record(foreign: bool) -> Vec<u8> {
    let nest = |kind: u16, members: &[(u16, Vec<u8>)]| {
        let mut value = Vec::new();
        for (k, v) in members {
            emit_in(&mut value, *k, v, foreign);
        }
        (kind, value)
    };
    let ip = nest(1, &[(1, vec![10, 0, 0, 1]), (2, vec![10, 0, 0, 2])]);
    let proto = nest(2, &[(1, vec![17]), (2, vec![0x0f, 0xa0]), (3, vec![0, 53])]);
    let tuple = nest(1, &[ip, proto]);
    let ct = nest(
        18,
        &[
            tuple,
            (12, 0xdead_beefu32.to_be_bytes().to_vec()),
            (3, vec![0, 0, 1, 0x88]),
        ],
    );
    let vlan = nest(0x8000 | 20, &[(2, vec![0x70, 0x64]), (1, vec![0x88, 0xa8])]);
    let mut out = vec![7, 0, 0, 5];
    emit_in(&mut out, 1, &[0x08, 0x00, 1, 0], foreign);
    for (kind, value) in [vlan, ct] {
        emit_in(&mut out, kind, &value, foreign);
    }
    emit_in(&mut out, 9, &udp(53), foreign);
    out
}

/// A pcap file as a host of the other byte order writes it, of one record.
fn foreign_pcap(record: &[u8], time: u32) -> Vec<u8> {
    let mut out = 0xA1B2_C3D4u32.swap_bytes().to_ne_bytes().to_vec();
    out.extend_from_slice(&2u16.swap_bytes().to_ne_bytes());
    out.extend_from_slice(&4u16.swap_bytes().to_ne_bytes());
    for v in [
        0u32,
        0,
        262_144,
        239,
        time,
        0,
        record.len() as u32,
        record.len() as u32,
    ] {
        out.extend_from_slice(&v.swap_bytes().to_ne_bytes());
    }
    out.extend_from_slice(record);
    out
}

#[test]
fn a_foreign_capture_with_nests_converts_to_this_hosts_order() {
    let scratch = Scratch::new();
    let native = nested_record(false);
    let foreign = scratch.join("foreign.pcap");
    fs::write(&foreign, foreign_pcap(&nested_record(true), 1_700_000_000)).unwrap();

    // Printed: before, NFULA_VLAN's nest was refused as damaged.
    let (code, stdout, stderr) = read(&foreign, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "");
    assert!(stdout.contains(" DPT=53 "), "{stdout}");

    // Converted: the record written is the host-order one, nests included.
    for format in ["pcap", "pcapng"] {
        let out = scratch.join(&format!("out.{format}"));
        let (code, _, stderr) = read(&foreign, &["-w", out.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{stderr}");
        let bytes = fs::read(&out).unwrap();
        let mut reader = CaptureReader::new(&bytes[..]).unwrap();
        let rec = reader.next_record().unwrap().unwrap();
        assert_eq!(rec.data, &native[..], "{format}");
        assert_eq!(rec.time, at(1_700_000_000));
        let packet = Packet::parse(rec.data).unwrap();
        let vlan = Vlan {
            proto: 0x88a8,
            tci: 0x7064,
        };
        assert_eq!(packet.vlan(), Some(vlan));
        let ct = Conntrack::from_packet(&packet).unwrap().unwrap();
        assert_eq!(ct.id(), Some(0xdead_beef), "the conntrack id survives");
        assert_eq!(ct.original().unwrap().dst_port, Some(53));
    }
}

#[test]
fn a_pcapng_mixing_link_types_prints_its_nflog_interfaces() {
    let scratch = Scratch::new();
    // What `dumpcap -i nflog:5 -i lo` writes: an NFLOG interface and an Ethernet one.
    let mut file = pcapng_header();
    idb(&mut file, 239);
    idb(&mut file, 1);
    let frame = [[0u8; 12].as_slice(), &[0x08, 0x00], &udp(9)].concat();
    for (interface, data) in [
        (0, record(1)),
        (1, frame.clone()),
        (0, record(2)),
        (1, frame),
        (0, record(3)),
    ] {
        epb(&mut file, interface, &data);
    }
    let path = scratch.join("mixed.pcapng");
    fs::write(&path, file).unwrap();
    let (code, stdout, stderr) = read(&path, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert_eq!(
        stderr,
        format!(
            "nflog: {}: skipped 2 records of interfaces of link type 1 (neither NFLOG nor raw \
             IP)\n",
            path.display()
        )
    );
}

#[test]
fn a_pcapng_of_other_link_types_only_is_refused() {
    let scratch = Scratch::new();
    let mut file = pcapng_header();
    idb(&mut file, 1);
    let frame = [[0u8; 12].as_slice(), &[0x08, 0x00], &udp(9)].concat();
    epb(&mut file, 0, &frame);
    epb(&mut file, 0, &frame);
    let path = scratch.join("lo.pcapng");
    fs::write(&path, file).unwrap();
    let (code, stdout, stderr) = read(&path, &[]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "nflog: {} has no record to print: its 2 records are of link type 1 (neither \
             NFLOG nor raw IP); nflog read reads captures made with `nflog -w` or \
             `tcpdump -i nflog:N -w`\n",
            path.display()
        )
    );
}

fn pcapng_header() -> Vec<u8> {
    let mut out = Vec::new();
    let body = [
        0x1A2B_3C4Du32.to_ne_bytes().as_slice(),
        &1u16.to_ne_bytes(),
        &0u16.to_ne_bytes(),
        &[0xff; 8],
    ]
    .concat();
    block(&mut out, 0x0A0D_0D0A, &body);
    out
}

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&total.to_ne_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_ne_bytes());
}

fn idb(out: &mut Vec<u8>, link_type: u16) {
    let body = [
        link_type.to_ne_bytes().as_slice(),
        &[0, 0],
        &262_144u32.to_ne_bytes(),
    ]
    .concat();
    block(out, 1, &body);
}

fn epb(out: &mut Vec<u8>, interface: u32, data: &[u8]) {
    let mut body = Vec::new();
    for v in [
        interface,
        0,
        1_000_000,
        data.len() as u32,
        data.len() as u32,
    ] {
        body.extend_from_slice(&v.to_ne_bytes());
    }
    body.extend_from_slice(data);
    body.resize((body.len() + 3) & !3, 0);
    block(out, 6, &body);
}

#[test]
fn a_raw_ip_capture_is_decoded_and_printed() {
    let scratch = Scratch::new();
    let mut w = PcapWriter::new(Vec::new(), LinkType::Raw).unwrap();
    for port in [1, 2] {
        let ip = udp(port);
        w.write_record(at(1_700_000_000 + u64::from(port)), &ip, ip.len())
            .unwrap();
    }
    let raw = scratch.join("raw.pcap");
    fs::write(&raw, w.into_inner()).unwrap();

    let (code, stdout, stderr) = read(&raw, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[1].contains(" SRC=10.0.0.1 DST=10.0.0.2 ") && lines[1].contains(" DPT=2 "),
        "{stdout}"
    );

    let (code, stdout, stderr) = read(&raw, &["-F", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["dest_port"], 1);
    assert_eq!(first["oob.family"], 2);
    assert_eq!(first["oob.time.sec"], 1_700_000_001u64);

    // Written again as raw IP, the packets are those of the file; as NFLOG records they
    // would be made up, which is refused naming the option.
    let again = scratch.join("again.pcap");
    let (code, _, stderr) = read(&raw, &["-w", again.to_str().unwrap(), "--linktype", "raw"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(fs::read(&again).unwrap(), fs::read(&raw).unwrap());
    let (code, _, stderr) = read(&raw, &["-w", again.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("add `--linktype raw`"), "{stderr}");

    // Another link type is still refused, before any output.
    let mut ethernet = fs::read(&raw).unwrap();
    ethernet[20..24].copy_from_slice(&1u32.to_ne_bytes());
    let path = scratch.join("ethernet.pcap");
    fs::write(&path, ethernet).unwrap();
    let (code, stdout, stderr) = read(&path, &[]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    assert!(
        stderr.contains("has link type 1 (not NFLOG, 239, or raw IP, 101)"),
        "{stderr}"
    );
}

/// A pcap file of the datagrams to these ports, one second apart.
fn pcap_of_ports(scratch: &Scratch, ports: &[u16]) -> std::path::PathBuf {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    for (i, port) in ports.iter().enumerate() {
        let r = record(*port);
        w.write_record(at(i as u64), &r, r.len()).unwrap();
    }
    let pcap = scratch.join("ports.pcap");
    fs::write(&pcap, w.into_inner()).unwrap();
    pcap
}

fn dports(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .map(|l| l.split(" DPT=").nth(1).unwrap().split(' ').next().unwrap())
        .collect()
}

#[test]
fn a_filter_prints_what_it_matches_and_counts_the_rest_as_filtered() {
    let scratch = Scratch::new();
    let pcap = pcap_of_ports(&scratch, &[53, 22, 80, 22, 443]);
    // One argument or several words, as tcpdump takes them; options after it.
    for args in [
        &["udp dst port 22 or 443"][..],
        &["udp", "dst", "port", "22", "or", "443", "-n"][..],
    ] {
        let (code, stdout, stderr) = read(&pcap, args);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(dports(&stdout), ["22", "22", "443"], "{stdout}");
        assert_eq!(
            stderr,
            format!(
                "nflog: {}: 5 packets, 3 matched the filter, 2 filtered\n",
                pcap.display()
            )
        );
    }
    // -c counts the packets printed.
    let (code, stdout, _) = read(&pcap, &["not port 53", "-c", "2"]);
    assert_eq!(code, Some(0));
    assert_eq!(dports(&stdout), ["22", "80"], "{stdout}");
    // Without a filter, no closing line.
    let (_, stdout, stderr) = read(&pcap, &[]);
    assert_eq!(dports(&stdout).len(), 5);
    assert_eq!(stderr, "");
}

#[test]
fn a_bad_filter_says_where_and_prints_nothing() {
    let scratch = Scratch::new();
    let pcap = pcap_of_ports(&scratch, &[53]);
    let (code, stdout, stderr) = read(&pcap, &["udp port ssh-x"]);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "nflog: filter: expected a port number at column 10, found `ssh-x`\n"
    );
    let (code, _, stderr) = read(&pcap, &["ether", "host", "1.2.3.4"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "nflog: filter: `ether` at column 1 is not supported by nflog's filter language\n"
    );
    let (code, _, stderr) = read(&pcap, &["iif eth0"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("nflog: filter: iif and oif cannot match"),
        "{stderr}"
    );
}

/// A record whose kernel time stamp is past the calendar's last second (2^62 seconds), read
/// in a time zone east of UTC (`TZ=XYZ-14`, POSIX for UTC+14): every format prints it, the
/// time as the zone's last moment. The formats asked chrono for a local date past the
/// calendar's end, and the command panicked.
#[test]
fn a_stamp_past_the_calendar_is_printed_east_of_utc() {
    let scratch = Scratch::new();
    let record = PacketRepr {
        group: 5,
        hook: 1,
        prefix: Some(b"far".to_vec()),
        timestamp: Some((1 << 62, 7)),
        payload: Some(udp(9)),
        ..PacketRepr::default()
    }
    .to_bytes();
    let mut w = PcapWriter::new(Vec::new(), LinkType::Nflog).unwrap();
    w.write_record(at(1_700_000_000), &record, record.len())
        .unwrap();
    let path = scratch.join("far.pcap");
    fs::write(&path, w.into_inner()).unwrap();
    for format in ["text", "json", "xml"] {
        let (status, stdout, stderr) = support::nflog_output_with(
            &["read", path.to_str().unwrap(), "-F", format],
            &[("TZ", "XYZ-14")],
        );
        assert_eq!(status.code(), Some(0), "{format}: {stdout} {stderr}");
        assert_eq!(stdout.lines().count(), 1, "{format}: {stdout}");
        assert!(stdout.contains("far"), "{format}: {stdout}");
    }
}
