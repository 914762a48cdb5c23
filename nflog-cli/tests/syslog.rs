//! The syslog outputs against the real rsyslog: one capture of the mixed traffic (UDP over
//! IPv4 and IPv6, a TCP SYN, ICMP and ICMPv6 echo, at INPUT and OUTPUT) sends each packet
//! over UDP (text), TCP (JSON) and a local datagram socket (text), and writes the same
//! packets to a text and a JSON file; rsyslog's file must hold every message once, its MSG
//! byte for byte our line, its structured data the packet's group, prefix and mark.
//!
//! rsyslog (package rsyslog) is optional here and required under CI. It runs as a throwaway
//! instance of the test's own (`support::Rsyslog`: its own configuration, ports of
//! 127.0.0.1 in the test's private network namespace, a socket in a temporary directory);
//! the host's service is never used.

mod support;

use std::collections::BTreeMap;

use support::{
    in_netns, mixed_rules, mixed_traffic, privileged, skip, Proc, Rsyslog, Scratch, Signal,
    MIXED_PACKETS,
};

const GROUP: u16 = 71;

/// A text line from its prefix on: without the `Mmm dd HH:MM:SS host ` it starts with.
fn from_prefix(line: &str) -> &str {
    let after_time = &line[16..];
    &after_time[after_time.find(' ').expect("a host name") + 1..]
}

#[test]
fn syslog_messages_reach_rsyslog_with_our_lines_and_structured_data() {
    const TEST: &str = "syslog_messages_reach_rsyslog_with_our_lines_and_structured_data";
    if !privileged(TEST) {
        return;
    }
    if let Some(why) = Rsyslog::missing() {
        skip(TEST, why);
        return;
    }
    in_netns(|| {
        let chains: String = ["input", "output"]
            .iter()
            .map(|hook| {
                let action = format!("meta mark set 42 log group {GROUP} prefix \"{hook}\"");
                mixed_rules(hook, &action)
            })
            .collect();
        support::nft(&format!("table inet t {{\n{chains}}}\n"));
        let rsyslog = Rsyslog::start().unwrap_or_else(|e| panic!("{e}"));
        let scratch = Scratch::new();
        let (text, json) = (scratch.join("lines.txt"), scratch.join("lines.json"));
        let udp = format!("syslog://127.0.0.1:{}", rsyslog.udp_port());
        let tcp = format!("syslog+tcp://127.0.0.1:{}", rsyslog.tcp_port());
        let unix = format!("unix:{}", rsyslog.socket().display());
        let (text_arg, json_arg) = (text.display().to_string(), json.display().to_string());
        let args = [
            "-g", "71", "-U", "-w", &udp, "-F", "text", "-w", &tcp, "-F", "json", "-w", &unix,
            "-F", "text", "-w", &text_arg, "-F", "text", "-w", &json_arg, "-F", "json",
        ];
        let mut nflog = Proc::nflog(&args, scratch.path(), "nflog");
        nflog.wait_bound(GROUP);

        mixed_traffic();
        let expected = 2 * MIXED_PACKETS;
        support::wait_until("rsyslog wrote every message", || {
            rsyslog.messages().len() >= 3 * expected && support::lines(&json).len() >= expected
        });
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        // Anything more would be a message sent twice.
        std::thread::sleep(std::time::Duration::from_millis(300));

        let texts: Vec<String> = support::lines(&text)
            .iter()
            .map(|l| from_prefix(l).to_owned())
            .collect();
        let jsons = support::lines(&json);
        assert_eq!((texts.len(), jsons.len()), (expected, expected));
        let pid = nflog.pid();
        let mut by_input: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for line in rsyslog.messages() {
            let value: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let input = value["input"].as_str().unwrap().to_owned();
            by_input.entry(input).or_default().push(value);
        }
        let inputs: Vec<&String> = by_input.keys().collect();
        assert_eq!(inputs, ["imtcp", "imudp", "imuxsock"], "{}", rsyslog.log());
        for (input, messages) in &by_input {
            let lines = if input == "imtcp" { &jsons } else { &texts };
            assert_eq!(messages.len(), expected, "{input}: each message once");
            let mut got = Vec::new();
            for m in messages {
                let raw = m["raw"].as_str().unwrap();
                let msg = m["msg"].as_str().unwrap();
                // <PRI>: user.notice, 1 * 8 + 5.
                assert_eq!(m["pri"], "13", "{raw}");
                let (head, body) = if input == "imuxsock" {
                    // syslog(3)'s form: <13>Mmm dd HH:MM:SS nflog[PID]: MSG.
                    let tag = format!(" nflog[{pid}]: ");
                    let at = raw.find(&tag).unwrap_or_else(|| panic!("{tag} in {raw}"));
                    assert!(raw.starts_with("<13>") && at == 4 + 15, "{raw}");
                    (String::new(), &raw[at + tag.len()..])
                } else {
                    assert!(raw.starts_with("<13>1 "), "{raw}");
                    assert_eq!(m["app"], "nflog", "{raw}");
                    assert_eq!(m["procid"], pid.to_string(), "{raw}");
                    let sd = m["sd"].as_str().unwrap();
                    let end = raw.find(&format!("{sd} ")).expect("the SD in the message");
                    (sd.to_owned(), &raw[end + sd.len() + 1..])
                };
                // rsyslog's own reading of MSG is ours too.
                assert_eq!(msg.trim_start(), body, "{input}: {raw}");
                let hook = if body.contains("\"oob.hook\": 1,") || body.starts_with("input ") {
                    "input"
                } else {
                    "output"
                };
                if input != "imuxsock" {
                    assert_eq!(
                        head,
                        format!("[nflog@32473 group=\"{GROUP}\" prefix=\"{hook}\" mark=\"42\"]"),
                        "{raw}"
                    );
                }
                got.push(body.to_owned());
            }
            let mut want = lines.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{input}: MSG is our line, byte for byte");
        }
    });
}

/// rsyslog stopped and started again while a burst goes to it over TCP: every packet
/// arrives once, or the statistics say how many did not and why. A message counted written
/// was acknowledged by rsyslog's TCP; what the broken connection had not acknowledged is
/// sent again; what rsyslog acknowledged and then threw away unread (it resets the
/// connection) is counted as possibly lost, an upper bound.
#[test]
fn rsyslog_restarted_under_tcp_gets_every_message_once_or_the_loss_is_counted() {
    const TEST: &str = "rsyslog_restarted_under_tcp_gets_every_message_once_or_the_loss_is_counted";
    const PACKETS: u64 = 3000;
    if !privileged(TEST) {
        return;
    }
    if let Some(why) = Rsyslog::missing() {
        skip(TEST, why);
        return;
    }
    in_netns(|| {
        support::nft(&support::log_ports(&[(40000, 72)]));
        let mut rsyslog = Rsyslog::start().unwrap_or_else(|e| panic!("{e}"));
        let scratch = Scratch::new();
        let tcp = format!("syslog+tcp://127.0.0.1:{}", rsyslog.tcp_port());
        let args = ["-g", "72", "--seq", "-F", "json", "-w", &tcp];
        let mut nflog = Proc::nflog(&args, scratch.path(), "nflog");
        nflog.wait_bound(72);

        // About 1.5 s of packets; rsyslog stops a third of the way in and starts again.
        let sender = std::thread::spawn(|| {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            for i in 0..PACKETS {
                socket.send_to(&i.to_be_bytes(), "127.0.0.1:40000").unwrap();
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        rsyslog.stop();
        let before = rsyslog.messages().len();
        rsyslog.start_again().unwrap_or_else(|e| panic!("{e}"));
        sender.join().unwrap();
        // The end drains: whatever waits is sent before the statistics.
        std::thread::sleep(std::time::Duration::from_millis(500));
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        std::thread::sleep(std::time::Duration::from_millis(300));

        let line = one_line_statistics(&nflog.stderr());
        assert_eq!(support::figure(&line, " packets ("), PACKETS, "{line}");
        let written = support::figure(&line, " packets written");
        let not_delivered = figure_or_zero(&line, " packets not delivered to ");
        let possibly_lost = figure_or_zero(&line, " packets possibly lost: ");
        assert_eq!(
            written + not_delivered + possibly_lost,
            PACKETS,
            "every packet accounted for: {line}"
        );
        let mut seen = std::collections::BTreeMap::new();
        for m in rsyslog.messages() {
            let value: serde_json::Value = serde_json::from_str(&m).unwrap();
            let msg: serde_json::Value = serde_json::from_str(value["msg"].as_str().unwrap())
                .unwrap_or_else(|e| panic!("a whole JSON object as MSG: {e}: {m}"));
            *seen
                .entry(msg["oob.seq.local"].as_u64().unwrap())
                .or_insert(0u32) += 1;
        }
        let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
        assert!(twice.is_empty(), "written twice: {twice:?}; {line}");
        let missing = PACKETS - seen.len() as u64;
        assert!(
            before > 0 && (before as u64) < PACKETS,
            "the restart came mid-burst: {before} before it"
        );
        assert!(
            missing >= not_delivered && missing <= not_delivered + possibly_lost,
            "{missing} missing, counted {not_delivered} lost and up to {possibly_lost} possibly \
             lost: {line}"
        );
        eprintln!("{before} before the restart, {missing} missing; {line}");
    });
}

/// The closing statistics line: the last line of standard error.
fn one_line_statistics(stderr: &str) -> String {
    stderr
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no statistics: {stderr:?}"))
        .to_owned()
}

/// The number before `what` in `line`, or 0 when `what` is not there.
fn figure_or_zero(line: &str, what: &str) -> u64 {
    if line.contains(what) {
        support::figure(line, what)
    } else {
        0
    }
}

#[test]
fn serve_gives_each_syslog_output_its_own_facility_severity_format_and_sd_id() {
    const TEST: &str = "serve_gives_each_syslog_output_its_own_facility_severity_format_and_sd_id";
    if !privileged(TEST) {
        return;
    }
    in_netns(|| {
        support::nft(
            "table inet t {\n  chain output {\n    type filter hook output priority 0;\n\
             \x20   udp dport 40072 log group 72 prefix \"fw\"\n  }\n}\n",
        );
        // Two collectors of the test's own: plain UDP sockets, read as they come.
        let collector = || {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(std::time::Duration::from_secs(20)))
                .unwrap();
            socket
        };
        let (a, b) = (collector(), collector());
        let scratch = Scratch::new();
        let config = scratch.join("nflog.toml");
        std::fs::write(
            &config,
            format!(
                "[input]\ngroups = [72]\nnumeric = true\n\n\
                 [[output]]\ndestination = \"syslog://127.0.0.1:{}\"\nformat = \"json\"\n\
                 [output.syslog]\nfacility = \"local0\"\nseverity = \"info\"\n\
                 sd_id = \"fw@32473\"\napp_name = \"edge\"\n\n\
                 [[output]]\ndestination = \"syslog://127.0.0.1:{}\"\nformat = \"text\"\n\
                 [output.syslog]\nformat = \"rfc3164\"\nfacility = \"daemon\"\n\
                 severity = \"warning\"\n",
                a.local_addr().unwrap().port(),
                b.local_addr().unwrap().port()
            ),
        )
        .unwrap();
        let mut command = std::process::Command::new(support::NFLOG);
        command.args(["serve", "--config", config.to_str().unwrap()]);
        let mut nflog = Proc::spawn(command, scratch.path(), "nflog");
        nflog.wait_bound(72);
        support::udp4(40072, b"hello");
        let receive = |socket: &std::net::UdpSocket| {
            let mut buf = [0u8; 4096];
            let n = socket.recv(&mut buf).expect("a syslog message");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        let (first, second) = (receive(&a), receive(&b));
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        // local0 (16) * 8 + info (6); RFC 5424, the SD-ID and APP-NAME of its table, JSON.
        assert!(first.starts_with("<134>1 "), "{first}");
        assert!(first.contains(" edge "), "{first}");
        assert!(
            first.contains("[fw@32473 group=\"72\" prefix=\"fw\""),
            "{first}"
        );
        assert!(first.ends_with('}'), "a JSON object: {first}");
        // daemon (3) * 8 + warning (4); RFC 3164 (`<PRI>Mmm dd HH:MM:SS`), the text line.
        assert!(second.starts_with("<28>"), "{second}");
        assert!(!second.starts_with("<28>1 "), "{second}");
        assert!(second.contains(" nflog"), "{second}");
        assert!(second.contains("fw IN="), "the text line: {second}");
        assert!(
            !second.contains("group=\"72\""),
            "no structured data in RFC 3164: {second}"
        );
    });
}
