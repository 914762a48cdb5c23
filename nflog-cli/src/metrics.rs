//! `--metrics ADDR`: the capture's counters as Prometheus or OpenMetrics text over HTTP.
//!
//! The reader thread records each batch ([`Metrics::record`]): the listener's statistics,
//! and packets and bytes per group and per prefix. Each output has its own
//! [`OutputMetrics`], atomics its writer updates. A thread of its own answers
//! `GET /metrics` (any path is answered the same), one connection at a time.
//!
//! Prefixes are a bounded label set: the first [`PREFIX_LABELS`] distinct prefixes seen
//! each get a `prefix` label of their own; the packets of every later one are counted in one
//! series labelled `other="true"` instead, so a rule whose prefix varies cannot grow the
//! output without end. A packet with no prefix counts under `prefix=""`.
//!
//! The format is Prometheus text 0.0.4, or OpenMetrics 1.0.0 when the scraper's `Accept`
//! asks for it (Prometheus does): the same samples, with counter families named without
//! `_total` and a closing `# EOF`. No crate renders both, and promtool's own checker reads
//! only the former, hence the few lines of rendering here.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use nflog::{Packet, Stats};

use crate::output::Counters;

/// The most distinct prefixes with a label of their own; the rest share one series.
pub const PREFIX_LABELS: usize = 32;

/// How long a scraper may take to send its request or read the answer: the server answers
/// one connection at a time, and a stuck one must not hold the others for long.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// The most bytes of a request read: a scrape's headers are far fewer.
const MAX_REQUEST: usize = 16 * 1024;

/// What a capture publishes, shared by the threads that update it and the server.
#[derive(Debug, Default)]
pub struct Metrics {
    traffic: Mutex<Traffic>,
    outputs: Mutex<Vec<Arc<OutputMetrics>>>,
}

/// Packets and bytes of one label.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    packets: u64,
    bytes: u64,
}

impl Counts {
    fn add(&mut self, bytes: u64) {
        self.packets += 1;
        self.bytes += bytes;
    }
}

/// What the reader thread records, under one lock taken once per batch.
#[derive(Debug, Default)]
struct Traffic {
    /// The listener's statistics after the last batch.
    stats: Stats,
    /// Per group, in the order first seen.
    groups: Vec<(u16, Counts)>,
    /// Per prefix (its bytes, up to its NUL), the first [`PREFIX_LABELS`] seen, in that
    /// order.
    prefixes: Vec<(Vec<u8>, Counts)>,
    /// Where in `groups` and `prefixes` the last packet counted: tried first.
    last_group: usize,
    last_prefix: usize,
    /// The packets of every prefix past the first [`PREFIX_LABELS`].
    other_prefixes: Counts,
    /// When the last batch with packets was received.
    last_packet: Option<SystemTime>,
}

impl Traffic {
    // Perf: runs for every packet on the reader thread. A batch is nearly always of one
    // group and one prefix, so the last ones are tried first, and prefixes are compared
    // as bytes: their text is made only when scraped.
    fn count(&mut self, group: u16, prefix: &[u8], bytes: u64) {
        if self
            .groups
            .get(self.last_group)
            .is_none_or(|(g, _)| *g != group)
        {
            self.last_group = match self.groups.iter().position(|(g, _)| *g == group) {
                Some(at) => at,
                None => {
                    self.groups.push((group, Counts::default()));
                    self.groups.len() - 1
                }
            };
        }
        self.groups[self.last_group].1.add(bytes);
        if self
            .prefixes
            .get(self.last_prefix)
            .is_none_or(|(p, _)| p != prefix)
        {
            let found = self.prefixes.iter().position(|(p, _)| p == prefix);
            self.last_prefix = match found {
                Some(at) => at,
                None if self.prefixes.len() < PREFIX_LABELS => {
                    self.prefixes.push((prefix.to_vec(), Counts::default()));
                    self.prefixes.len() - 1
                }
                None => {
                    self.other_prefixes.add(bytes);
                    return;
                }
            };
        }
        self.prefixes[self.last_prefix].1.add(bytes);
    }
}

/// One output's counters, updated by its writer (and by the reader for its queue), with
/// its label.
#[derive(Debug)]
struct OutputMetrics {
    /// The output's `output` label: its destination as `-w` names it.
    name: String,
    /// Its figures as they go.
    counters: Arc<Counters>,
}

impl Metrics {
    /// Empty metrics, to share between the capture's threads and the server.
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// Adds an output named `name` (its destination, without the credentials a URL may
    /// hold: see [`without_secrets`]) whose figures are `counters`.
    pub fn output(&self, name: &str, counters: Arc<Counters>) {
        let output = Arc::new(OutputMetrics {
            name: without_secrets(name),
            counters,
        });
        lock(&self.outputs).push(output);
    }

    /// Records a batch: its packets, received at `received`, and the listener's statistics
    /// after it.
    pub fn record<'a>(
        &self,
        packets: impl IntoIterator<Item = Packet<&'a [u8]>>,
        stats: &Stats,
        received: SystemTime,
    ) {
        let mut traffic = lock(&self.traffic);
        let mut any = false;
        for packet in packets {
            let bytes = packet.payload().map_or(0, |p| p.len() as u64);
            let prefix = packet.prefix_bytes().unwrap_or_default();
            traffic.count(packet.group(), prefix, bytes);
            any = true;
        }
        if any {
            traffic.last_packet = Some(received);
        }
        traffic.stats = *stats;
    }

    /// The metrics as text: OpenMetrics 1.0.0 when `open_metrics`, else Prometheus text
    /// 0.0.4.
    pub fn render(&self, open_metrics: bool) -> String {
        let mut text = Text::new(open_metrics);
        let (stats, groups, before_labels, other, last) = {
            let t = lock(&self.traffic);
            (
                t.stats,
                t.groups.clone(),
                t.prefixes.clone(),
                t.other_prefixes,
                t.last_packet,
            )
        };
        text.counter(
            "nflog_received_packets",
            "Packets received from the kernel, as the closing statistics count them.",
            &[("", stats.packets + stats.request_drops)],
        );
        text.counter(
            "nflog_received_bytes",
            "Payload bytes received (what the copy range let through).",
            &[("", stats.bytes)],
        );
        text.counter(
            "nflog_received_batches",
            "Datagrams (batches of packets) received from the kernel.",
            &[("", stats.datagrams)],
        );
        text.counter(
            "nflog_kernel_overruns",
            "Times the kernel reported a full receive buffer (ENOBUFS) and dropped packets.",
            &[("", stats.overruns)],
        );
        text.counter(
            "nflog_sequence_gap_packets",
            "Packets the kernel dropped, as sequence gaps count them (--seq).",
            &[("", stats.seq_gaps)],
        );
        text.counter(
            "nflog_truncated_batches",
            "Datagrams cut because they were larger than the receive buffer.",
            &[("", stats.truncated)],
        );
        text.counter(
            "nflog_malformed_messages",
            "Messages from the kernel that did not parse.",
            &[("", stats.malformed)],
        );
        text.counter(
            "nflog_request_dropped_packets",
            "Packets lost while a group configuration request awaited the kernel's answer.",
            &[("", stats.request_drops)],
        );
        text.gauge(
            "nflog_receive_buffer_bytes",
            "The socket's receive buffer.",
            &[("", stats.receive_buffer as f64)],
        );
        let labelled = |counts: &[(String, Counts)], pick: fn(&Counts) -> u64| {
            counts
                .iter()
                .map(|(label, c)| (label.clone(), pick(c)))
                .collect::<Vec<_>>()
        };
        let groups: Vec<(String, Counts)> = groups
            .iter()
            .map(|(g, c)| (format!("group=\"{g}\""), *c))
            .collect();
        text.counter(
            "nflog_group_packets",
            "Packets received, per group.",
            &as_refs(&labelled(&groups, |c| c.packets)),
        );
        text.counter(
            "nflog_group_bytes",
            "Payload bytes received, per group.",
            &as_refs(&labelled(&groups, |c| c.bytes)),
        );
        // As text: bytes that are not UTF-8 are U+FFFD, as in the JSON format; prefixes
        // that differ only there share their label, and their counts.
        let mut prefixes: Vec<(String, Counts)> = Vec::with_capacity(before_labels.len() + 1);
        for (bytes, counts) in &before_labels {
            let label = format!("prefix=\"{}\"", escape(&String::from_utf8_lossy(bytes)));
            match prefixes.iter_mut().find(|(l, _)| *l == label) {
                Some((_, sum)) => {
                    sum.packets += counts.packets;
                    sum.bytes += counts.bytes;
                }
                None => prefixes.push((label, *counts)),
            }
        }
        if other.packets > 0 {
            prefixes.push(("other=\"true\"".to_string(), other));
        }
        text.counter(
            "nflog_prefix_packets",
            "Packets received, per log prefix (the first 32 seen; the rest as other=\"true\").",
            &as_refs(&labelled(&prefixes, |c| c.packets)),
        );
        text.counter(
            "nflog_prefix_bytes",
            "Payload bytes received, per log prefix (as nflog_prefix_packets).",
            &as_refs(&labelled(&prefixes, |c| c.bytes)),
        );
        let outputs = lock(&self.outputs).clone();
        let per_output = |pick: fn(&OutputMetrics) -> &AtomicU64| {
            outputs
                .iter()
                .map(|o| {
                    let label = format!("output=\"{}\"", escape(&o.name));
                    (label, pick(o).load(Ordering::Relaxed))
                })
                .collect::<Vec<_>>()
        };
        text.counter(
            "nflog_output_written_packets",
            "Packets whose every byte the output took.",
            &as_refs(&per_output(|o| &o.counters.written)),
        );
        text.counter(
            "nflog_output_dropped_packets",
            "Packets dropped because the output's queue was full (it fell behind).",
            &as_refs(&per_output(|o| &o.counters.queue_dropped)),
        );
        // What each output dropped itself, by the reason its closing statistics give.
        let by_reason: Vec<(String, u64)> = outputs
            .iter()
            .flat_map(|o| {
                lock(&o.counters.dropped_by_reason)
                    .iter()
                    .map(|d| {
                        let label = format!(
                            "output=\"{}\",reason=\"{}\"",
                            escape(&o.name),
                            escape(&d.reason)
                        );
                        (label, d.packets)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        text.counter(
            "nflog_output_sink_dropped_packets",
            "Packets the output dropped itself (rows a database refused, messages a \
             collector lost, packets --linktype raw cannot hold), by reason.",
            &as_refs(&by_reason),
        );
        text.counter(
            "nflog_output_errors",
            "Write errors of the output.",
            &as_refs(&per_output(|o| &o.counters.errors)),
        );
        let queued: Vec<(String, f64)> = per_output(|o| &o.counters.queue_bytes)
            .into_iter()
            .map(|(l, v)| (l, v as f64))
            .collect();
        text.gauge(
            "nflog_output_queue_bytes",
            "Bytes of packets queued for the output, not yet written.",
            &queued
                .iter()
                .map(|(l, v)| (l.as_str(), *v))
                .collect::<Vec<_>>(),
        );
        if let Some(last) = last {
            let seconds = last
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            text.gauge(
                "nflog_last_packet_timestamp_seconds",
                "When the last packet was received, in seconds since the epoch.",
                &[("", seconds)],
            );
        }
        text.finish()
    }
}

/// A destination as a label anyone who scrapes may read: a URL's user and password
/// (`postgres://user:secret@host/db`) and its query (`?password=...`) are left out.
fn without_secrets(destination: &str) -> String {
    let Some((scheme, rest)) = destination.split_once("://") else {
        return destination.to_string();
    };
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{scheme}://{rest}")
}

/// Borrows the labels of `(label, value)` pairs.
fn as_refs(samples: &[(String, u64)]) -> Vec<(&str, u64)> {
    samples.iter().map(|(l, v)| (l.as_str(), *v)).collect()
}

/// A label value in the exposition format's escaping: backslash, double quote, newline.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The exposition text being written.
struct Text {
    out: String,
    open_metrics: bool,
}

impl Text {
    fn new(open_metrics: bool) -> Text {
        Text {
            out: String::with_capacity(4096),
            open_metrics,
        }
    }

    /// A counter family `name` (without `_total`) and its samples, each with its labels
    /// (`""` for none).
    fn counter(&mut self, name: &str, help: &str, samples: &[(&str, u64)]) {
        // Prometheus text names the family as its samples, OpenMetrics without `_total`.
        let family = if self.open_metrics {
            name.to_string()
        } else {
            format!("{name}_total")
        };
        self.header(&family, "counter", help);
        for (labels, value) in samples {
            self.sample(&format!("{name}_total"), labels, &value.to_string());
        }
    }

    /// A gauge family and its samples.
    fn gauge(&mut self, name: &str, help: &str, samples: &[(&str, f64)]) {
        self.header(name, "gauge", help);
        for (labels, value) in samples {
            self.sample(name, labels, &value.to_string());
        }
    }

    fn header(&mut self, family: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {family} {}", help.replace('\\', "\\\\"));
        let _ = writeln!(self.out, "# TYPE {family} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: &str) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
        }
    }

    fn finish(mut self) -> String {
        // Required by OpenMetrics; a comment to Prometheus text parsers.
        if self.open_metrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

/// Locks `mutex`, even if a thread panicked holding it: the counts in it stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Binds the metrics address: before privileges are dropped, so a port below 1024 works.
///
/// # Errors
///
/// When the address does not parse or resolve, or cannot be bound; the error names
/// `--metrics`.
pub fn bind(address: &str) -> Result<TcpListener> {
    TcpListener::bind(address).with_context(|| {
        format!(
            "--metrics {address}: cannot listen there; give a free HOST:PORT, such as \
             127.0.0.1:9464"
        )
    })
}

/// Serves `metrics` on `listener` from a thread of its own, for as long as the process
/// lives.
///
/// # Errors
///
/// When the thread cannot be started.
pub fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> Result<()> {
    thread::Builder::new()
        .name("nflog metrics".into())
        .spawn(move || {
            // A failed accept (a client gone, no descriptors left) ends one scrape, not
            // the server.
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &metrics);
            }
        })
        .context("starting the metrics thread")?;
    Ok(())
}

/// Answers one HTTP request on `stream`, then closes it.
fn answer(mut stream: TcpStream, metrics: &Metrics) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let request = read_request(&mut stream)?;
    let response = respond(&request, metrics);
    stream.write_all(&response)?;
    stream.flush()
}

/// Reads a request's line and headers, up to the blank line that ends them.
fn read_request(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut request = Vec::with_capacity(1024);
    let mut buffer = [0; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    Ok(request)
}

/// The whole HTTP response to `request`: the metrics for a `GET` (or `HEAD`), else an
/// error status.
fn respond(request: &[u8], metrics: &Metrics) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    let mut lines = text.split("\r\n");
    let method = lines.next().and_then(|l| l.split(' ').next()).unwrap_or("");
    if method != "GET" && method != "HEAD" {
        let body = "only GET and HEAD are served here\n";
        return http(
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            body,
            true,
        );
    }
    let open_metrics = lines.any(|l| {
        l.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("accept")
                && value.contains("application/openmetrics-text")
        })
    });
    let content_type = if open_metrics {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    };
    http(
        "200 OK",
        content_type,
        &metrics.render(open_metrics),
        method == "GET",
    )
}

/// An HTTP/1.1 response that closes the connection.
fn http(status: &str, content_type: &str, body: &str, with_body: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if with_body {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Dropped;

    fn packet(group: u16, prefix: Option<&[u8]>, payload: usize) -> Vec<u8> {
        nflog::PacketRepr {
            group,
            hook: 3,
            prefix: prefix.map(<[u8]>::to_vec),
            payload: Some(vec![0x45; payload]),
            ..nflog::PacketRepr::default()
        }
        .to_bytes()
    }

    fn record(metrics: &Metrics, bodies: &[Vec<u8>], stats: &Stats) {
        let packets = bodies.iter().map(|b| Packet::parse(b.as_slice()).unwrap());
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_547_200_500);
        metrics.record(packets, stats, at);
    }

    #[test]
    fn the_text_has_every_count_with_its_labels() {
        let metrics = Metrics::new();
        let out = Arc::new(Counters::default());
        metrics.output("x.pcap", Arc::clone(&out));
        out.written.store(2, Ordering::Relaxed);
        out.queue_dropped.store(1, Ordering::Relaxed);
        out.queue_bytes.store(512, Ordering::Relaxed);
        out.dropped_by_reason.lock().unwrap().push(Dropped {
            packets: 6,
            reason: "skipped: not IP, which --linktype raw cannot hold".to_string(),
        });
        let stats = Stats {
            datagrams: 2,
            packets: 3,
            bytes: 30,
            overruns: 1,
            seq_gaps: 4,
            truncated: 1,
            receive_buffer: 8 << 20,
            ..Stats::default()
        };
        let bodies = [
            packet(5, Some(b"ssh"), 10),
            packet(6, Some(b"a\"b\\c\n\xff"), 15),
            packet(5, None, 5),
        ];
        record(&metrics, &bodies, &stats);
        let text = metrics.render(false);
        for line in [
            "# TYPE nflog_received_packets_total counter",
            "nflog_received_packets_total 3",
            "nflog_received_bytes_total 30",
            "nflog_received_batches_total 2",
            "nflog_kernel_overruns_total 1",
            "nflog_sequence_gap_packets_total 4",
            "nflog_truncated_batches_total 1",
            "nflog_malformed_messages_total 0",
            "nflog_receive_buffer_bytes 8388608",
            "nflog_group_packets_total{group=\"5\"} 2",
            "nflog_group_bytes_total{group=\"5\"} 15",
            "nflog_group_packets_total{group=\"6\"} 1",
            "nflog_prefix_packets_total{prefix=\"ssh\"} 1",
            "nflog_prefix_bytes_total{prefix=\"a\\\"b\\\\c\\n\u{fffd}\"} 15",
            "nflog_prefix_packets_total{prefix=\"\"} 1",
            "nflog_output_written_packets_total{output=\"x.pcap\"} 2",
            "nflog_output_dropped_packets_total{output=\"x.pcap\"} 1",
            "nflog_output_errors_total{output=\"x.pcap\"} 0",
            "nflog_output_sink_dropped_packets_total{output=\"x.pcap\",reason=\"skipped: not IP, \
             which --linktype raw cannot hold\"} 6",
            "nflog_output_queue_bytes{output=\"x.pcap\"} 512",
            "nflog_last_packet_timestamp_seconds 1764547200.5",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        assert!(!text.contains("# EOF"), "{text}");
        // OpenMetrics: the families of counters lose `_total`, the samples keep it.
        let open = metrics.render(true);
        assert!(open.contains("# TYPE nflog_received_packets counter\n"));
        assert!(open.contains("\nnflog_received_packets_total 3\n"));
        assert!(open.ends_with("\n# EOF\n"), "{open}");
    }

    #[test]
    fn prefixes_past_the_bound_share_one_series() {
        let metrics = Metrics::new();
        let bodies: Vec<Vec<u8>> = (0..PREFIX_LABELS + 5)
            .map(|i| packet(5, Some(format!("p{i}").as_bytes()), 1))
            .collect();
        record(&metrics, &bodies, &Stats::default());
        // Seen again: an old prefix keeps its label, a new one goes to the others.
        record(
            &metrics,
            &[packet(5, Some(b"p0"), 1), packet(5, Some(b"new"), 1)],
            &Stats::default(),
        );
        let text = metrics.render(false);
        let labelled = text
            .lines()
            .filter(|l| l.starts_with("nflog_prefix_packets_total{prefix="))
            .count();
        assert_eq!(labelled, PREFIX_LABELS, "{text}");
        assert!(text.contains("\nnflog_prefix_packets_total{prefix=\"p0\"} 2\n"));
        assert!(text.contains("\nnflog_prefix_packets_total{other=\"true\"} 6\n"));
        assert!(!text.contains("\"new\""), "{text}");
    }

    #[test]
    fn output_labels_keep_no_credentials() {
        for (destination, label) in [
            ("x.pcap", "x.pcap"),
            ("-", "-"),
            (
                "postgres://nflog:secret@db.example:5432/logs?sslmode=require&password=p",
                "postgres://db.example:5432/logs",
            ),
            ("clickhouse://u@h/db", "clickhouse://h/db"),
            ("syslog://127.0.0.1:514", "syslog://127.0.0.1:514"),
            ("unix:/dev/log", "unix:/dev/log"),
        ] {
            let metrics = Metrics::new();
            metrics.output(destination, Arc::default());
            let text = metrics.render(false);
            let line = format!("nflog_output_errors_total{{output=\"{label}\"}} 0");
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
            assert!(
                !text.contains("secret") && !text.contains("password"),
                "{text}"
            );
        }
    }

    /// Not a check: what [`Metrics::record`] costs per packet of a batch of 400 of one
    /// group and prefix, the best of 50 rounds (docs/benchmarks.md, "Code shaped for
    /// speed"): `cargo test --release -p nflog-cli --bin nflog record_cost -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore]
    fn record_cost_per_packet() {
        let body = packet(9, Some(b"burst"), 92);
        let mut batch = nflog::PacketVec::with_capacity(1 << 20);
        for _ in 0..400 {
            batch.push(&Packet::parse(&body[..]).unwrap());
        }
        let metrics = Metrics::new();
        let mut best = f64::MAX;
        for _ in 0..50 {
            let start = std::time::Instant::now();
            for _ in 0..100 {
                metrics.record(batch.iter(), &Stats::default(), SystemTime::UNIX_EPOCH);
            }
            best = best.min(start.elapsed().as_nanos() as f64 / 40_000.0);
        }
        assert!(metrics
            .render(false)
            .contains("{prefix=\"burst\"} 2000000\n"));
        eprintln!("Metrics::record: {best:.1} ns per packet");
    }

    #[test]
    fn no_last_packet_time_before_a_packet() {
        let metrics = Metrics::new();
        record(&metrics, &[], &Stats::default());
        assert!(!metrics
            .render(false)
            .contains("nflog_last_packet_timestamp_seconds "));
    }

    #[test]
    fn the_server_answers_scrapes_and_refuses_other_methods() {
        let metrics = Metrics::new();
        let out = Arc::new(Counters::default());
        metrics.output("-", Arc::clone(&out));
        out.written.store(7, Ordering::Relaxed);
        let listener = bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        serve(listener, Arc::clone(&metrics)).unwrap();
        let ask = |request: &str| {
            let mut stream = TcpStream::connect(address).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        };
        let plain = ask("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(plain.starts_with("HTTP/1.1 200 OK\r\n"), "{plain}");
        assert!(plain.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert!(plain.contains("\nnflog_output_written_packets_total{output=\"-\"} 7\n"));
        let open = ask(
            "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0,\
             text/plain;q=0.5\r\n\r\n",
        );
        assert!(open.contains("\r\nContent-Type: application/openmetrics-text; version=1.0.0"));
        assert!(open.ends_with("# EOF\n"), "{open}");
        let (head, body) = open.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
        let post = ask("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    }

    #[test]
    fn an_address_that_cannot_be_bound_names_the_option() {
        let e = format!("{:#}", bind("not an address").unwrap_err());
        assert!(
            e.starts_with("--metrics not an address: cannot listen there"),
            "{e}"
        );
    }
}
