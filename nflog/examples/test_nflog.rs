//! Prints the packets logged to one NFLOG group, one line each.
//!
//! ```text
//! cargo run --example test_nflog -- GROUP [COUNT]
//! ```
//!
//! Add a rule first, for example `nft add rule inet filter input log group 5 prefix "in"`
//! or `iptables -A INPUT -j NFLOG --nflog-group 5 --nflog-prefix in`. Stops after COUNT
//! packets or on Ctrl-C, prints the statistics, and exits 0.

use std::process::ExitCode;

use nflog::{Listener, Packet};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(group), count) = (args.next(), args.next()) else {
        eprintln!("usage: test_nflog GROUP [COUNT]");
        return ExitCode::from(2);
    };
    let Ok(group) = group.parse::<u16>() else {
        eprintln!("test_nflog: GROUP must be a number from 0 to 65535, not {group:?}");
        return ExitCode::from(2);
    };
    let count = match count.map(|c| c.parse::<u64>()) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => {
            eprintln!("test_nflog: COUNT must be a whole number");
            return ExitCode::from(2);
        }
    };

    let mut listener = match Listener::bind(group) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("test_nflog: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = listener.stop_handle();
    let on_signal = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || on_signal.stop()) {
        eprintln!("test_nflog: cannot catch Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!("test_nflog: listening on group {group}; Ctrl-C to stop");

    let mut seen = 0u64;
    let result = listener.run(|packet| {
        if count.is_some_and(|c| seen >= c) {
            return; // the rest of the last batch, after COUNT
        }
        seen += 1;
        println!("{}", describe(&packet));
        if count == Some(seen) {
            stop.stop();
        }
    });
    match result {
        Ok(stats) => {
            eprintln!("test_nflog: {stats}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("test_nflog: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line: group, prefix, hook, mark, interfaces, uid, seq, payload length and first bytes.
fn describe(p: &Packet<&[u8]>) -> String {
    let opt = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let payload = p.payload().unwrap_or(&[]);
    let head: String = payload
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "group={} prefix={:?} family={} hook={} mark={} in={} out={} uid={} seq={} len={} data={}",
        p.group(),
        p.prefix().unwrap_or_default(),
        p.family(),
        p.hook(),
        opt(p.mark()),
        opt(p.indev()),
        opt(p.outdev()),
        opt(p.uid()),
        opt(p.seq()),
        payload.len(),
        head,
    )
}
