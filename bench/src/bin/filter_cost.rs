//! A flood where 1 packet in 100 matches (issue 12): nflog's CPU per sent packet with the
//! filter as a kernel rule, against the same filter applied in user space to everything
//! logged; and what the rule costs the sender, per packet.
//!
//! ```text
//! cargo build --release -p nflog-bench
//! sudo target/release/filter_cost [--packets N]
//! ```
//!
//! Needs root and `ip`; not `nft` (the rules are installed by `nflog::nft`). In a private
//! network namespace, UDP datagrams of 64 bytes go to 127.0.0.1 port 9, every hundredth to
//! port 10; an input rule drops them all (no ICMP answers). The filter is `udp dst port 10`.
//!
//! - `none`: no capture, the sender alone: its CPU per packet is the baseline.
//! - `kernel`: the expression compiled and installed at the output hook, logging to a group
//!   a listener drains on a thread of its own (what `nflog 'udp dst port 10'` does).
//! - `user space`: a rule logging every UDP packet, the listener's thread evaluating the
//!   expression on each (what `nflog -g N 'udp dst port 10'` does with a rule that logs
//!   all).
//!
//! Each row: packets sent, packets the consumer counted as matching (every one of the 1%
//! must be there in both modes), kernel overruns, the receiving thread's CPU per sent
//! packet, and the sender's CPU per packet.

use std::net::UdpSocket;
use std::time::Duration;

use nflog::format::Numeric;
use nflog::nft::{
    BaseHook, CaptureRules, Chain, CmpOp, Expr, Filter, Immediate, MetaKey, NftSocket, Register,
    Rule, Table, Verdict, FREE_GROUP_START,
};
use nflog::{Family, GroupConfig, Hook, Listener};
use nflog_bench::{enter_private_netns, thread_cpu, BoxError};

const EXPRESSION: &str = "udp dst port 10";

fn main() -> Result<(), BoxError> {
    let mut packets: u64 = 200_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--packets" => {
                packets = args.next().ok_or("--packets needs a number")?.parse()?;
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    std::thread::spawn(move || run(packets))
        .join()
        .map_err(|_| "the benchmark thread panicked")?
}

fn run(packets: u64) -> Result<(), BoxError> {
    enter_private_netns()?;
    drop_udp_at_input()?;
    let expr = nflog::filter::Expr::parse(EXPRESSION)?;
    let compiled = nflog::filter::compile(&expr, Family::Inet)?;
    let kernel_filter = Filter {
        alternatives: compiled.rules.into_iter().map(|r| r.exprs).collect(),
        sets: Vec::new(),
    };
    let all_udp = Filter {
        alternatives: vec![
            nflog::filter::compile(&nflog::filter::Expr::parse("udp")?, Family::Inet)?
                .rules
                .remove(0)
                .exprs,
        ],
        sets: Vec::new(),
    };

    println!("{packets} UDP datagrams of 64 bytes, 1 in 100 matching `{EXPRESSION}`\n");
    println!(
        "| mode | sent | matched | overruns | receiver CPU ns/sent packet | sender CPU ns/packet |"
    );
    println!("|---|---|---|---|---|---|");
    let (_, base_sender) = flood(packets)?;
    println!(
        "| none | {packets} | - | - | - | {:.0} |",
        per(base_sender, packets)
    );
    let kernel = measure(packets, kernel_filter, None)?;
    let user = measure(packets, all_udp, Some(&expr))?;
    for (mode, r) in [("kernel", &kernel), ("user space", &user)] {
        println!(
            "| {mode} | {packets} | {} | {} | {:.0} | {:.0} |",
            r.matched,
            r.overruns,
            per(r.receiver, packets),
            per(r.sender, packets)
        );
    }
    println!(
        "\nuser space / kernel, receiver CPU: {:.1}x; the rule's cost to the sender: {:.0} ns per packet",
        r_ratio(user.receiver, kernel.receiver),
        per(kernel.sender, packets) - per(base_sender, packets)
    );
    Ok(())
}

struct Measured {
    matched: u64,
    overruns: u64,
    receiver: Duration,
    sender: Duration,
}

fn per(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n.max(1) as f64
}

fn r_ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// One mode: a listener on its own thread counts the packets `evaluate` accepts (all of
/// them when `None`), while this thread floods.
fn measure(
    packets: u64,
    filter: Filter,
    evaluate: Option<&nflog::filter::Expr>,
) -> Result<Measured, BoxError> {
    let mut listener = Listener::builder()
        .grow_receive_buffer(Some(64 << 20))
        .bind()?;
    let config = GroupConfig::default().queue_threshold(1000);
    let group = listener.add_free_group(FREE_GROUP_START, &[], &config)?;
    let rules = CaptureRules {
        hooks: vec![Hook::Output],
        filter,
        ..CaptureRules::default()
    };
    let _guard = rules.install(group)?;
    let stop = listener.stop_handle();
    let expr = evaluate.cloned();
    let receiver = std::thread::spawn(move || -> Result<(u64, Duration, u64), String> {
        let start = thread_cpu().map_err(|e| e.to_string())?;
        let mut matched = 0u64;
        while let Some(batch) = listener.recv().map_err(|e| e.to_string())? {
            for packet in batch.flatten() {
                if expr
                    .as_ref()
                    .is_none_or(|e| e.matches(&packet, &mut Numeric))
                {
                    matched += 1;
                }
            }
        }
        let cpu = (thread_cpu().map_err(|e| e.to_string())? - start).clock;
        Ok((matched, cpu, listener.stats().overruns))
    });
    let (_, sender) = flood(packets)?;
    // Let the last batches arrive (the flush timeout is 100 ms), then stop.
    std::thread::sleep(Duration::from_millis(500));
    stop.stop();
    let (matched, receiver, overruns) = receiver.join().map_err(|_| "receiver panicked")??;
    Ok(Measured {
        matched,
        overruns,
        receiver,
        sender,
    })
}

/// Sends `packets` datagrams of 64 bytes to 127.0.0.1 port 9, every hundredth to port 10;
/// returns how many and the sending thread's CPU time.
fn flood(packets: u64) -> Result<(u64, Duration), BoxError> {
    let miss = UdpSocket::bind("127.0.0.1:0")?;
    miss.connect("127.0.0.1:9")?;
    let hit = UdpSocket::bind("127.0.0.1:0")?;
    hit.connect("127.0.0.1:10")?;
    let payload = [0x5au8; 64];
    let start = thread_cpu()?;
    for i in 0..packets {
        let socket = if i % 100 == 0 { &hit } else { &miss };
        while let Err(e) = socket.send(&payload) {
            if e.raw_os_error() != Some(libc::ENOBUFS) && e.raw_os_error() != Some(libc::EAGAIN) {
                return Err(format!("send: {e}").into());
            }
            std::thread::yield_now();
        }
    }
    Ok((packets, (thread_cpu()? - start).clock))
}

/// `table inet bench_drop { chain in { type filter hook input priority 0; meta l4proto udp
/// drop } }`, through the library: the datagrams end there, unanswered.
fn drop_udp_at_input() -> Result<(), BoxError> {
    let mut socket = NftSocket::open()?;
    let mut batch = socket.batch();
    let family = Family::Inet;
    batch.add_table(&Table {
        family,
        name: "bench_drop".into(),
        flags: 0,
    })?;
    batch.add_chain(
        family,
        &Chain {
            table: "bench_drop".into(),
            name: "in".into(),
            hook: Some(BaseHook {
                hook: Hook::Input,
                priority: 0,
                device: None,
            }),
        },
    )?;
    batch.add_rule(
        family,
        &Rule {
            table: "bench_drop".into(),
            chain: "in".into(),
            exprs: vec![
                Expr::Meta {
                    key: MetaKey::L4Proto,
                    dreg: Register::R1,
                },
                Expr::Cmp {
                    sreg: Register::R1,
                    op: CmpOp::Eq,
                    data: vec![17],
                },
                Expr::Immediate {
                    dreg: Register::VERDICT,
                    data: Immediate::Verdict(Verdict::Drop),
                },
            ],
        },
    )?;
    socket.send_batch(&mut batch)?;
    Ok(())
}
