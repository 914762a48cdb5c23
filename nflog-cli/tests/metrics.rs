//! `--metrics ADDR`: scraped during a capture of real kernel packets, in a private network
//! namespace (its loopback holds both the traffic and the metrics server). Debian's
//! `promtool check metrics` must accept every scrape, and the counts at the end must equal
//! the closing statistics.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    figure, has_tool, in_netns, nft, one_line, privileged, send_udp, wait_until, Proc, Scratch,
    Signal,
};

/// The metrics address, on the test namespace's own loopback.
const METRICS: &str = "127.0.0.1:9464";

/// The body of a scrape of `METRICS`, with `accept` as the Accept header when given;
/// `None` while nothing listens.
fn scrape(accept: Option<&str>) -> Option<String> {
    let mut stream = TcpStream::connect(METRICS).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    let request = format!("GET /metrics HTTP/1.1\r\nHost: nflog\r\n{accept}\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    Some(body.to_string())
}

/// The value of the sample `name` (with its labels, as written) in `text`.
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {name} in\n{text}"))
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"))
}

/// The sum of the samples of the family `name` (every label set).
fn sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Runs `promtool check metrics` on `text`; panics with what it said unless it accepts it.
fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics refused it ({}): {}{}\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_scraped_during_a_capture_equal_the_closing_statistics() {
    const TEST: &str = "metrics_scraped_during_a_capture_equal_the_closing_statistics";
    if !privileged(TEST) || !has_tool(TEST, "promtool", "--version", "prometheus") {
        return;
    }
    // Two groups, two prefixes, and a burst to each: scraped while it flows.
    const BURST: usize = 20_000;
    in_netns(|| {
        nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n\
             udp dport 6100 log group 11 prefix \"alpha\"\n\
             udp dport 6101 log group 12 prefix \"beta b\"\n }\n}\n",
        );
        let scratch = Scratch::new();
        let file = scratch.join("m.pcap");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "11,12",
                "--seq",
                "-U",
                "-w",
                file.to_str().unwrap(),
                "--metrics",
                METRICS,
            ],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(12);
        wait_until("the metrics server answers", || scrape(None).is_some());
        let before = scrape(None).unwrap();
        promtool_accepts(&before);
        assert_eq!(sample(&before, "nflog_received_packets_total"), 0);
        assert!(!before.contains("nflog_last_packet_timestamp_seconds "));

        let sender = std::thread::spawn(|| {
            send_udp("127.0.0.1:6100", &[0x61; 64], BURST);
            send_udp("127.0.0.1:6101", &[0x62; 100], BURST);
        });
        // Mid-burst scrapes, in both formats, each checked by promtool.
        let mut scrapes = 0;
        while !sender.is_finished() {
            let text = scrape(None).expect("scrape during the burst");
            promtool_accepts(&text);
            let open = scrape(Some("application/openmetrics-text; version=1.0.0"))
                .expect("OpenMetrics scrape");
            assert!(open.ends_with("# EOF\n"), "{open}");
            scrapes += 1;
        }
        sender.join().unwrap();
        assert!(scrapes > 0);

        // Every packet accounted for: received (or lost, by sequence gaps, which a later
        // packet of the group shows), then written or dropped, the queue empty.
        let marker = || {
            send_udp("127.0.0.1:6100", b"end", 1);
            send_udp("127.0.0.1:6101", b"end", 1);
        };
        marker();
        let total = 2 * BURST as u64 + 2;
        let deadline = Instant::now() + Duration::from_secs(60);
        let settled = loop {
            let text = scrape(None).unwrap();
            let received = sample(&text, "nflog_received_packets_total");
            let gaps = sample(&text, "nflog_sequence_gap_packets_total");
            let written = sum(&text, "nflog_output_written_packets_total");
            let dropped = sum(&text, "nflog_output_dropped_packets_total");
            let queued = text
                .lines()
                .find_map(|l| l.strip_prefix("nflog_output_queue_bytes{"))
                .and_then(|l| l.rsplit(' ').next())
                .unwrap_or("1")
                .to_string();
            if received + gaps == total && written + dropped == received && queued == "0" {
                break text;
            }
            assert!(
                Instant::now() < deadline,
                "the counts never settled (received {received} + gaps {gaps} of {total}, \
                 written {written} + dropped {dropped}):\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        promtool_accepts(&settled);
        nflog.signal(Signal::TERM);
        let status = nflog.wait();
        let stderr = nflog.stderr();
        assert!(status.success(), "{stderr}");
        let line = one_line(&stderr);

        // The scrape after the last packet equals the closing statistics.
        for (name, words) in [
            ("nflog_received_packets_total", " packets ("),
            ("nflog_received_bytes_total", " bytes)"),
            ("nflog_received_batches_total", " batches;"),
            ("nflog_kernel_overruns_total", " kernel overruns"),
            (
                "nflog_sequence_gap_packets_total",
                " packets lost (sequence gaps)",
            ),
            ("nflog_truncated_batches_total", " truncated batches"),
            ("nflog_malformed_messages_total", " malformed"),
        ] {
            assert_eq!(
                sample(&settled, name),
                figure(line, words),
                "{name}: {line}\n{settled}"
            );
        }
        let received = sample(&settled, "nflog_received_packets_total");
        let output = format!("{{output=\"{}\"}}", file.display());
        let written = sample(
            &settled,
            &format!("nflog_output_written_packets_total{output}"),
        );
        assert_eq!(written, figure(line, " packets written"), "{line}");
        let dropped = sample(
            &settled,
            &format!("nflog_output_dropped_packets_total{output}"),
        );
        let said_dropped = if line.contains(" packets dropped because the output fell behind") {
            figure(line, " packets dropped because the output fell behind")
        } else {
            0
        };
        assert_eq!(dropped, said_dropped, "{line}");
        assert_eq!(
            sample(&settled, &format!("nflog_output_errors_total{output}")),
            0
        );
        assert_eq!(support::records(&file).len() as u64, written);

        // Per group and per prefix, the same packets and bytes, split.
        let bytes = sample(&settled, "nflog_received_bytes_total");
        assert_eq!(sum(&settled, "nflog_group_packets_total"), received);
        assert_eq!(sum(&settled, "nflog_group_bytes_total"), bytes);
        assert_eq!(sum(&settled, "nflog_prefix_packets_total"), received);
        assert_eq!(sum(&settled, "nflog_prefix_bytes_total"), bytes);
        let alpha = sample(&settled, "nflog_prefix_packets_total{prefix=\"alpha\"}");
        let group = sample(&settled, "nflog_group_packets_total{group=\"11\"}");
        assert_eq!(alpha, group);
        let beta = sample(&settled, "nflog_prefix_packets_total{prefix=\"beta b\"}");
        assert_eq!(
            beta,
            sample(&settled, "nflog_group_packets_total{group=\"12\"}")
        );
        assert!(settled.contains("\nnflog_last_packet_timestamp_seconds "));
    });
}
