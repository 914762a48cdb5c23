//! `nflog EXPRESSION` on a kernel without nf_tables: a clear error, and nothing installed or
//! bound.
//!
//! Made real where nf_tables is a module not loaded yet, as on Debian's kernel in the guest
//! of `.ci/run` (vmtest), which runs this binary first in a machine of its own: the test
//! empties `/proc/sys/kernel/modprobe` (kmod.c: an empty path makes every module request
//! fail with ENOENT), so that the kernel cannot load nf_tables when nflog asks for it, and
//! puts the path back after. It runs only where `NFLOG_EXPECT_NO_NF_TABLES` is set, as
//! `.ci/run` sets it for that guest, and then fails unless the kernel has loadable modules
//! and nf_tables is not loaded; elsewhere (this machine's kernel has no modules at all) it
//! says why it does nothing, and never touches the module loader.

mod support;

use support::{bound_groups, in_netns, privileged, Proc, Scratch, Signal};

const MODPROBE: &str = "/proc/sys/kernel/modprobe";

/// Whether the running kernel loads modules and has not loaded nf_tables.
fn nf_tables_not_loaded_yet() -> bool {
    std::fs::read_to_string("/proc/modules")
        .is_ok_and(|loaded| !loaded.lines().any(|l| l.starts_with("nf_tables ")))
}

/// Empties the kernel's module loader path while it lives, and puts the old one back.
struct NoModuleLoading(String);

impl NoModuleLoading {
    fn new() -> NoModuleLoading {
        let old = std::fs::read_to_string(MODPROBE).expect("read kernel.modprobe");
        std::fs::write(MODPROBE, "\n").expect("empty kernel.modprobe");
        NoModuleLoading(old)
    }
}

impl Drop for NoModuleLoading {
    fn drop(&mut self) {
        std::fs::write(MODPROBE, &self.0).expect("restore kernel.modprobe");
    }
}

#[test]
fn without_nf_tables_an_expression_fails_clearly_and_leaves_nothing() {
    if !privileged("without_nf_tables_an_expression_fails_clearly_and_leaves_nothing") {
        return;
    }
    if std::env::var_os("NFLOG_EXPECT_NO_NF_TABLES").is_none() {
        eprintln!(
            "SKIPPED without_nf_tables_an_expression_fails_clearly_and_leaves_nothing: only \
             where NFLOG_EXPECT_NO_NF_TABLES says nf_tables is a module not loaded yet (the \
             Debian 6.1 guest of .ci/run)"
        );
        return;
    }
    assert!(
        nf_tables_not_loaded_yet(),
        "NFLOG_EXPECT_NO_NF_TABLES, but nf_tables is loaded or built in: this binary must \
         run first in a machine whose nf_tables is a module"
    );
    in_netns(|| {
        // NFLOG itself is loaded first (nfnetlink_log, on the first bind), while modules
        // still load: the test is of nf_tables alone.
        let dir = Scratch::new();
        let mut listener = Proc::nflog(&["-g", "5"], dir.path(), "listener");
        listener.wait_bound(5);
        listener.signal(Signal::TERM);
        listener.wait();
        let out = {
            let _no_loading = NoModuleLoading::new();
            std::process::Command::new(support::NFLOG)
                .arg("udp port 9")
                .output()
                .expect("run nflog")
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
        assert!(
            stderr.starts_with("nflog: ") && stderr.contains("nf_tables (CONFIG_NF_TABLES)"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // Nothing bound, nothing installed: nf_tables never came, and with the loader back
        // `nft` (which loads it) lists no table.
        assert!(bound_groups().is_empty(), "{:?}", bound_groups());
        let modules = std::fs::read_to_string("/proc/modules").unwrap();
        assert!(
            !modules.lines().any(|l| l.starts_with("nf_tables ")),
            "nf_tables loaded while module loading was off"
        );
        assert_eq!(support::run("nft", &["list", "tables"]), "");
    });
}
