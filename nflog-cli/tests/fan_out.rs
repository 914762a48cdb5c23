//! Several outputs at once (`nflog serve --config`): one receiving thread, a queue and a
//! writing thread per output. During a burst, outputs that keep up lose nothing while one
//! whose reader is stuck drops what its own queue cannot hold, counts it, and holds back
//! nobody.
//!
//! The stuck output is real: text to standard output, a pipe the test does not read until
//! the burst is over (a pipe holds 64 KiB). Each test runs in a private network namespace
//! of its own (see `support`).

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
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
        let pcapng = scratch.join("all.pcapng");
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
                 [[output]]\ndestination = \"{}\"\nqueue_size = 536870912\n\n\
                 [[output]]\ndestination = \"-\"\nformat = \"text\"\nqueue_size = 1048576\n",
                json.display(),
                pcapng.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(NFLOG)
            .args(["serve", "--config", config.to_str().unwrap()])
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
        // The files' writers catch up: the JSON file holds every packet but what its
        // buffer (256 KiB) still holds.
        let mut last = 0;
        for _ in 0..600 {
            let now = std::fs::metadata(&json).map_or(0, |m| m.len());
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
        let text = reader.join().unwrap();
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
        assert_eq!(records(&pcapng).len() as u64, packets);
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
