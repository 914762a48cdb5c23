//! Interface names as the text and JSON formats show them, for interfaces of the real
//! kernel with awkward names: one whose name is not UTF-8 (Latin-1 `café`, which the kernel
//! accepts: `dev_valid_name` refuses only `/`, `:`, white space and `.`/`..`) and one named
//! `5`, in a private network namespace.

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::SystemTime;

use nflog::format::{JsonFormat, Numeric, ResolveInterface, TextFormat, TimeZone};
use nflog::{InterfaceNames, Listener, Packet};
use support::{collect, ifindex, in_netns, nft, privileged, run, run_command, WAIT};

/// The group the rule logs to.
const GROUP: u16 = 81;
/// Latin-1 `café`: not UTF-8.
const CAFE: &[u8] = b"caf\xe9";

/// The text line's ` OUT=... ` word and the JSON object's `oob.out` for `packet`.
fn out_as_shown(packet: &Packet<&[u8]>, names: &mut dyn ResolveInterface) -> (String, String) {
    let received = SystemTime::now();
    let mut text = Vec::new();
    TextFormat::new()
        .time_zone(TimeZone::Utc)
        .write(&mut text, packet, received, names)
        .unwrap();
    // The text format writes a name that is not UTF-8 escaped: the line is UTF-8.
    let text = String::from_utf8(text).expect("a UTF-8 line");
    let word = text
        .split(' ')
        .find_map(|w| w.strip_prefix("OUT="))
        .unwrap_or_else(|| panic!("no OUT= in {text:?}"))
        .to_owned();
    let mut json = Vec::new();
    JsonFormat::new()
        .write(&mut json, packet, received, names)
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    let out = json["oob.out"]
        .as_str()
        .expect("oob.out is a string")
        .to_owned();
    (word, out)
}

#[test]
fn names_not_utf8_and_names_that_look_like_indexes_are_shown_unambiguously() {
    if !privileged("names_not_utf8_and_names_that_look_like_indexes_are_shown_unambiguously") {
        return;
    }
    in_netns(|| {
        // Two veth pairs: `5` (198.51.100.1) and CAFE (192.0.2.1), their peers unaddressed:
        // datagrams leave by them and wait for an ARP answer that never comes, which is
        // enough for the output hook to log them.
        // `5` first: the kernel numbers a veth's peer first, so `5` gets index 3 and
        // CAFE index 5, which the text format printed as `OUT=5` before.
        run(
            "ip",
            &["link", "add", "5", "type", "veth", "peer", "name", "p5"],
        );
        run_command(Command::new("ip").args([
            OsStr::new("link"),
            OsStr::new("add"),
            OsStr::from_bytes(CAFE),
            OsStr::new("type"),
            OsStr::new("veth"),
            OsStr::new("peer"),
            OsStr::new("name"),
            OsStr::new("p0"),
        ]));
        let cafe_index = {
            let out = run_command(Command::new("ip").args([
                OsStr::new("-o"),
                OsStr::new("link"),
                OsStr::new("show"),
                OsStr::from_bytes(CAFE),
            ]));
            support::parse_ip_link(&out).0
        };
        run_command(Command::new("ip").args([
            OsStr::new("addr"),
            OsStr::new("add"),
            OsStr::new("192.0.2.1/24"),
            OsStr::new("dev"),
            OsStr::from_bytes(CAFE),
        ]));
        run("ip", &["addr", "add", "198.51.100.1/24", "dev", "5"]);
        for name in [
            OsStr::from_bytes(CAFE),
            OsStr::new("p0"),
            OsStr::new("5"),
            OsStr::new("p5"),
        ] {
            run_command(Command::new("ip").args([
                OsStr::new("link"),
                OsStr::new("set"),
                name,
                OsStr::new("up"),
            ]));
        }
        let five_index = ifindex("5");
        assert_ne!(
            five_index, 5,
            "the test needs an interface named 5 whose index is not 5"
        );

        let mut listener = Listener::bind(GROUP).unwrap();
        nft(&format!(
            "table ip t {{ chain out {{ type filter hook output priority 0; \
             udp dport 7100 log group {GROUP}; }}; }}"
        ));
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        socket.send_to(b"cafe", "192.0.2.2:7100").unwrap();
        socket.send_to(b"five", "198.51.100.2:7100").unwrap();
        let got = collect(&mut listener, 2, WAIT);
        assert_eq!(got.len(), 2, "both datagrams logged");
        let by_out = |index: u32| {
            got.iter()
                .map(|c| c.view())
                .find(|p| p.outdev() == Some(index))
                .unwrap_or_else(|| panic!("nothing logged leaving by {index}: {got:?}"))
        };
        let (cafe, five) = (by_out(cafe_index), by_out(five_index));

        let mut names = InterfaceNames::new(&listener).unwrap();
        // The bytes that are not UTF-8 as \xNN: the same word in text and in JSON.
        let shown = "caf\\xe9".to_owned();
        assert_eq!(out_as_shown(&cafe, &mut names), (shown.clone(), shown));
        assert_eq!(
            out_as_shown(&five, &mut names),
            ("5".to_owned(), "5".to_owned())
        );
        // Unnamed (nflog -n, nflog read): if:N, which no interface can be named.
        let index = |i: u32| format!("if:{i}");
        assert_eq!(
            out_as_shown(&cafe, &mut Numeric),
            (index(cafe_index), index(cafe_index))
        );
        assert_eq!(
            out_as_shown(&five, &mut Numeric),
            (index(five_index), index(five_index))
        );

        // Renamed to a name that is not UTF-8 while the names are in use: the link
        // notification carries the new name's bytes.
        let renamed: &[u8] = b"n\xff";
        run("ip", &["link", "set", "5", "down"]);
        run_command(Command::new("ip").args([
            OsStr::new("link"),
            OsStr::new("set"),
            OsStr::new("5"),
            OsStr::new("name"),
            OsStr::from_bytes(renamed),
            OsStr::new("up"),
        ]));
        socket.send_to(b"again", "198.51.100.2:7100").unwrap();
        let got = collect(&mut listener, 1, WAIT);
        assert_eq!(got.len(), 1, "the datagram after the rename logged");
        let again = got[0].view();
        assert_eq!(again.outdev(), Some(five_index));
        let shown = "n\\xff".to_owned();
        assert_eq!(out_as_shown(&again, &mut names), (shown.clone(), shown));
    });
}
