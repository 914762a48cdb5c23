//! Programs run to their end (`ip`, `nft`), and children that die with the test.
//!
//! The `try_` forms return what went wrong, for the benchmarks, which report it; the others
//! panic with it, for the tests.

use std::io::Write;
use std::process::{Child, Command, Stdio};

/// Runs a command (in the calling thread's namespaces) and panics if it fails; its stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    run_command(Command::new(program).args(args))
}

/// Runs a command (in the calling thread's namespaces); its stdout, or what went wrong.
pub fn try_run(program: &str, args: &[&str]) -> Result<String, String> {
    try_run_command(Command::new(program).args(args))
}

/// Runs a prepared command, returns its standard output, and panics if it fails.
pub fn run_command(command: &mut Command) -> String {
    try_run_command(command).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a prepared command with stdin from /dev/null; its standard output, or its error
/// output if it fails.
pub(crate) fn try_run_command(command: &mut Command) -> Result<String, String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Loads an nftables ruleset (`nft -f -`) into the calling thread's namespace; panics if
/// `nft` fails.
pub fn nft(ruleset: &str) {
    try_nft(ruleset).unwrap_or_else(|e| panic!("{e}"));
}

/// Loads an nftables ruleset (`nft -f -`) into the calling thread's namespace.
pub fn try_nft(ruleset: &str) -> Result<(), String> {
    try_load_ruleset(Command::new("nft"), ruleset)
}

/// Runs `nft` as `command` (plain, or through `nsenter`) with `-f -` and `ruleset` on its
/// standard input; says what `nft` said, and the ruleset, if it fails.
pub fn try_load_ruleset(mut command: Command, ruleset: &str) -> Result<(), String> {
    let mut child = command
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {command:?}: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("nft: no stdin")?
        .write_all(ruleset.as_bytes())
        .map_err(|e| format!("nft: writing the ruleset: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "nft failed: {}\n{ruleset}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// A child process that is killed and reaped on drop, even when the test panics.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
