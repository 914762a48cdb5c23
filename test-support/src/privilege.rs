//! Whether a test may touch the kernel, and the CI rule: a test that cannot get its
//! privileges skips and says why, and fails instead under CI (`CI` set).

use std::process::{Command, Stdio};

/// Skips the test (says why) or, under CI, fails it; returns false for `if !... { return }`.
pub fn skip(test: &str, reason: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: privileged test cannot run under CI: {reason}");
    }
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// Whether this process can run the kernel tests: root, `nft` and `ip`. If not, says why
/// and returns false, or panics under CI.
pub fn privileged(test: &str) -> bool {
    if !rustix::process::geteuid().is_root() {
        return skip(
            test,
            "not running as root (needs CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces)",
        );
    }
    has_tool(test, "nft", "--version", "nftables") && has_tool(test, "ip", "-V", "iproute2")
}

/// Whether `program` runs; if not, says which package to install and skips (fails under CI).
pub fn has_tool(test: &str, program: &str, version_flag: &str, package: &str) -> bool {
    let found = Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    found
        || skip(
            test,
            &format!("`{program}` not found: install the {package} package"),
        )
}
