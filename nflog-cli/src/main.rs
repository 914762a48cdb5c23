//! `nflog`: capture, read and print the packets Linux netfilter logs with NFLOG.
//!
//! Thin by design: argument parsing, wiring and signals. Parsing, decoding, formatting and
//! pcap live in the `nflog` library.

mod capture;
mod cli;
mod config;
mod demo;
mod log;
mod metrics;
mod netns;
mod output;
mod print_rule;
mod privileges;
mod queue;
mod read;
mod remote;
mod rotate;
mod rule;
mod signals;
mod syslog;
mod systemd;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::CommandFactory;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => return parse_failed(&e),
    };
    let result = match cli.command {
        None => capture::run(&cli.capture),
        Some(Command::Capture(args)) => capture::run(&args),
        Some(Command::Read(args)) => read::run(&args),
        Some(Command::Serve(args)) => config::run(&args),
        Some(Command::Demo(args)) => demo::run(&args),
        Some(Command::Completions { shell }) => {
            // Into a buffer first: clap_complete panics when it cannot write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "nflog", &mut script);
            output::print(&script)
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(anyhow::Error::from)
                .and_then(|()| output::print(&page))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::io::stdout().flush();
            output::error(&error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// What clap could not parse, or the help and version it was asked for. Help goes to
/// standard output, where a failed write is an error (`nflog --help > /dev/full`), which
/// clap's own `exit` would ignore.
fn parse_failed(e: &clap::Error) -> ExitCode {
    if e.use_stderr() {
        // A usage error: clap prints it on standard error, with its status (2).
        e.exit();
    }
    let text = if std::io::stdout().is_terminal() {
        e.render().ansi().to_string()
    } else {
        e.render().to_string()
    };
    match output::print(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error as one line: the error and what caused it, each of which says what to do,
/// each said once. A cause whose text the line already ends with (an error that prints its
/// source and also returns it as its `source()`) is not repeated.
fn error_line(e: &anyhow::Error) -> String {
    let mut line = format!("nflog: {e}");
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.ends_with(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_its_error_already_prints_is_said_once() {
        // `read error: Is a directory (os error 21): Is a directory (os error 21)`: the
        // library's error prints its source and also gives it as its `source()`.
        let io = std::io::Error::from_raw_os_error(21);
        let e = anyhow::Error::new(nflog::Error::Io {
            operation: "read error",
            source: io,
        })
        .context("x.pcap");
        assert_eq!(
            error_line(&e),
            "nflog: x.pcap: read error: Is a directory (os error 21)"
        );
        // Causes that say something new are all there, in order.
        let e = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(error_line(&e), "nflog: outer: middle: inner");
    }
}
