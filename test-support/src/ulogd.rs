//! ulogd2 as the reference for our JSON output: where its plugins are, and the configuration
//! of the stack that `nflog -F json` follows. Shared by the end-to-end test
//! (`nflog-cli/tests/ulogd.rs`) and the benchmark (`bench/src/bin/burst.rs`), so that both
//! run the same ulogd.

use std::fs;
use std::path::{Path, PathBuf};

/// ulogd2's program, as Debian and Ubuntu install it.
pub const ULOGD: &str = "/usr/sbin/ulogd";

/// The directory of ulogd's plugins, if it holds the JSON output plugin.
pub fn plugins() -> Option<PathBuf> {
    let mut candidates = vec![
        PathBuf::from("/usr/lib/ulogd"),
        PathBuf::from("/usr/lib64/ulogd"),
    ];
    // Debian and Ubuntu: /usr/lib/<multiarch triplet>/ulogd.
    if let Ok(entries) = fs::read_dir("/usr/lib") {
        candidates.extend(entries.flatten().map(|e| e.path().join("ulogd")));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("ulogd_output_JSON.so").is_file())
}

/// How ulogd runs, besides its stack.
pub struct Options {
    /// The NFLOG group it binds.
    pub group: u16,
    /// Its `loglevel`, or ulogd's default.
    pub loglevel: Option<u8>,
    /// Whether the JSON output flushes each line (`sync=1`), or ulogd's default.
    pub sync: bool,
}

/// ulogd's configuration: the stack `NFLOG, BASE, IFINDEX, IP2STR, HWHDR, JSON` that
/// `nflog::format::JsonFormat` follows, logging to `log` and writing JSON lines to `json`.
pub fn config(plugins: &Path, log: &Path, json: &Path, options: &Options) -> String {
    let mut conf = format!("[global]\nlogfile=\"{}\"\n", log.display());
    if let Some(level) = options.loglevel {
        conf.push_str(&format!("loglevel={level}\n"));
    }
    for plugin in [
        "ulogd_inppkt_NFLOG.so",
        "ulogd_raw2packet_BASE.so",
        "ulogd_filter_IFINDEX.so",
        "ulogd_filter_IP2STR.so",
        "ulogd_filter_HWHDR.so",
        "ulogd_output_JSON.so",
    ] {
        conf.push_str(&format!("plugin=\"{}\"\n", plugins.join(plugin).display()));
    }
    conf.push_str(&format!(
        "stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,mac2str1:HWHDR,json1:JSON\n\
         [log1]\ngroup={}\n[json1]\nfile=\"{}\"\n",
        options.group,
        json.display()
    ));
    if options.sync {
        conf.push_str("sync=1\n");
    }
    conf
}
