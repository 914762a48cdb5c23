//! Several outputs at once (`nflog serve --config`): one receiving thread, a queue and a
//! writing thread per output. During a burst, outputs that keep up lose nothing (a JSON
//! file with every packet, a rotated pcapng ring with the last ones) while one whose reader
//! is stuck drops what its own queue cannot hold, counts it, and holds back nobody.
//!
//! The stuck output is real: text to standard output, a pipe the test does not read until
//! the burst is over (a pipe holds 64 KiB). Each test runs in a private network namespace
//! of its own (see `support`).

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use support::{
    bound_groups, figure, in_netns, lines, nft, privileged, records, send_paced,
    socket_queue_empty, wait_until, Scratch, Signal, NFLOG,
};

const PORT: u16 = 6030;
const GROUP: u16 = 30;

/// Logs every UDP datagram to `PORT` at OUTPUT to `GROUP`, and drops it at INPUT.
fn log_udp() {
    nft(&format!(
        "table inet t {{\n\
         \x20 chain out {{ type filter hook output priority 0; udp dport {PORT} log group {GROUP} prefix \"fan\"; }}\n\
         \x20 chain in {{ type filter hook input priority 0; udp dport {PORT} drop; }}\n\
         }}\n"
    ));
}

/// Runs `command` through a burst of `packets` while nobody reads its standard output (a
/// pipe), then reads it, waits until the JSON file `json` stops growing (its writer caught
/// up), and interrupts it: its exit status, standard error and standard output.
fn burst_past_a_stuck_stdout(
    mut command: Command,
    packets: u64,
    json: &Path,
) -> (ExitStatus, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("nflog binds the group", || bound_groups().contains(&GROUP));
    send_paced(PORT, packets as usize, 64);
    // The last batch leaves the kernel within its flush timeout (100 ms); the socket's
    // queue empties as the reader copies it out.
    thread::sleep(Duration::from_millis(300));
    wait_until("the socket is drained", || socket_queue_empty(GROUP));
    // Now the stuck output's reader comes back.
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    // The files' writers catch up: the JSON file holds every packet but what its buffer
    // (256 KiB) still holds.
    let mut last = 0;
    for _ in 0..600 {
        let now = std::fs::metadata(json).map_or(0, |m| m.len());
        if now > 0 && now == last {
            break;
        }
        last = now;
        thread::sleep(Duration::from_millis(200));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, Signal::INT).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status, stderr, reader.join().unwrap())
}

/// The sequence number (NFULA_SEQ, 12) of an NFLOG record.
fn seq(record: &[u8]) -> u64 {
    let (_, at, len) = support::tlvs(record)
        .into_iter()
        .find(|&(kind, _, _)| kind == 12)
        .expect("every record has NFULA_SEQ (seq = true)");
    assert_eq!(len, 4);
    u64::from(u32::from_be_bytes(record[at..at + 4].try_into().unwrap()))
}

#[test]
fn three_outputs_in_a_burst_the_stuck_one_drops_alone_and_every_count_adds_up() {
    if !privileged("three_outputs_in_a_burst_the_stuck_one_drops_alone_and_every_count_adds_up") {
        return;
    }
    let packets: u64 = 200_000;
    in_netns(move || {
        log_udp();
        let scratch = Scratch::new();
        let json = scratch.join("all.json");
        // A ring of three pcapng files of 2 MiB (-C 2m -W 3), for this output alone: the
        // burst (some 36 MB of records) goes round it several times.
        let pcapng = scratch.join("ring.pcapng");
        let config = scratch.join("nflog.toml");
        // The files' queues hold the whole burst, however far their writers fall behind on
        // a busy machine; the stuck output's holds 1 MiB.
        std::fs::write(
            &config,
            format!(
                "[input]\ngroups = [{GROUP}]\nseq = true\nnumeric = true\n\
                 # A socket buffer the reader cannot fall behind, on a loaded machine.\n\
                 rcvbuf = 33554432\n\n\
                 [[output]]\ndestination = \"{}\"\nqueue_size = 536870912\n\n\
                 [[output]]\ndestination = \"{}\"\nqueue_size = 536870912\n\
                 rotate = {{ file_size = \"2m\", file_count = 3 }}\n\n\
                 [[output]]\ndestination = \"-\"\nformat = \"text\"\nqueue_size = 1048576\n",
                json.display(),
                pcapng.display()
            ),
        )
        .unwrap();
        let mut serve = Command::new(NFLOG);
        serve.args(["serve", "--config", config.to_str().unwrap()]);
        let (status, stderr, text) = burst_past_a_stuck_stdout(serve, packets, &json);
        assert!(status.success(), "{stderr}");
        let stats: Vec<&str> = stderr.lines().collect();
        assert_eq!(stats.len(), 4, "a line received, one per output: {stderr}");
        // Received once, by one socket, with nothing lost by the kernel.
        let received = stats[0];
        assert!(received.starts_with("nflog: received "), "{received}");
        assert_eq!(figure(received, "packets ("), packets, "{received}");
        assert_eq!(figure(received, "kernel overruns"), 0, "{received}");
        assert_eq!(
            figure(received, "packets lost (sequence gaps)"),
            0,
            "{received}"
        );
        // The files: every packet, nothing dropped.
        let (json_line, pcapng_line, stuck) = (stats[1], stats[2], stats[3]);
        // (They may say how far their queue grew: they fell behind the burst for a while.)
        for (line, name, format) in [(json_line, &json, "json"), (pcapng_line, &pcapng, "pcapng")] {
            let start = format!(
                "nflog: output {} -w {} ({format}): {packets} packets written",
                if format == "json" { 1 } else { 2 },
                name.display()
            );
            assert!(line.starts_with(&start), "{line}");
            assert!(
                !line.contains("dropped") && !line.contains("lost"),
                "{line}"
            );
        }
        let written_json = lines(&json);
        assert_eq!(written_json.len() as u64, packets);
        assert!(
            written_json[0].contains("\"oob.prefix\": \"fan\""),
            "{}",
            written_json[0]
        );
        // The ring: its three files, each past 2 MiB by at most a record, hold the last
        // packets of the burst, each once, every one after the first kept to the last.
        let ring: Vec<_> = (0..3)
            .map(|n| scratch.join(&format!("ring.pcapng{n}")))
            .collect();
        let mut kept = Vec::new();
        for file in &ring {
            let size = std::fs::metadata(file).unwrap().len();
            assert!(size <= (2 << 20) + 512, "{}: {size} bytes", file.display());
            kept.extend(records(file).iter().map(|(_, record)| seq(record)));
        }
        assert!(
            !scratch.join("ring.pcapng3").exists() && !pcapng.exists(),
            "three files, numbered as tcpdump's -W 3 numbers them"
        );
        kept.sort_unstable();
        let first = kept[0];
        assert!(first > 0, "the ring went round: the first packets are gone");
        assert!(
            kept == (first..packets).collect::<Vec<u64>>(),
            "the ring holds the last {} packets exactly ({} records, from {first})",
            packets - first,
            kept.len()
        );
        // The stuck one: what it wrote and what its queue dropped add up to what was received,
        // and it says so.
        assert!(
            stuck.starts_with("nflog: output 3 -w - (text): "),
            "{stuck}"
        );
        let written = figure(stuck, "packets written");
        let dropped = figure(stuck, "packets dropped because the output fell behind");
        assert!(stuck.ends_with("(raise --queue-size)"), "{stuck}");
        assert!(dropped > 0 && written > 0, "{stuck}");
        assert_eq!(
            written + dropped,
            packets,
            "every packet accounted for: {stuck}"
        );
        assert_eq!(text.lines().count() as u64, written);
    });
}

#[test]
fn each_queue_size_on_the_command_line_bounds_the_output_before_it() {
    if !privileged("each_queue_size_on_the_command_line_bounds_the_output_before_it") {
        return;
    }
    let packets: u64 = 30_000;
    in_netns(move || {
        log_udp();
        let scratch = Scratch::new();
        let json = scratch.join("all.json");
        // The JSON file's queue holds the whole burst; the stuck standard output's, 64 KiB:
        // with the default (64 MiB) it would hold the burst too, and drop nothing.
        let mut capture = Command::new(NFLOG);
        capture
            .args([
                "-g",
                &GROUP.to_string(),
                "--seq",
                "-n",
                "--rcvbuf",
                "33554432",
            ])
            .args(["-w", json.to_str().unwrap(), "--queue-size", "536870912"])
            .args(["-w", "-", "-F", "text", "--queue-size", "65536"]);
        let (status, stderr, text) = burst_past_a_stuck_stdout(capture, packets, &json);
        assert!(status.success(), "{stderr}");
        let stats: Vec<&str> = stderr.lines().collect();
        assert_eq!(stats.len(), 3, "a line received, one per output: {stderr}");
        assert_eq!(figure(stats[0], "packets ("), packets, "{stderr}");
        let start = format!(
            "nflog: output 1 -w {} (json): {packets} packets written",
            json.display()
        );
        assert!(stats[1].starts_with(&start), "{stderr}");
        assert!(!stats[1].contains("dropped"), "{stderr}");
        assert_eq!(lines(&json).len() as u64, packets);
        let stuck = stats[2];
        assert!(
            stuck.starts_with("nflog: output 2 -w - (text): "),
            "{stuck}"
        );
        let written = figure(stuck, "packets written");
        let dropped = figure(stuck, "packets dropped because the output fell behind");
        assert!(dropped > 0, "its 64 KiB queue overflowed: {stuck}");
        assert_eq!(written + dropped, packets, "{stuck}");
        assert_eq!(text.lines().count() as u64, written);
    });
}
