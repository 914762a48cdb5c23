//! Private network namespaces for `nflog demo`. The only `unsafe` of the command.
#![allow(unsafe_code)]

use anyhow::{Context, Result};

/// Moves the calling thread, and only it, into a new network namespace, which disappears
/// when the thread and every socket opened in it are gone: nothing is left behind, even
/// when the process is killed.
pub fn enter_private() -> Result<()> {
    // SAFETY: CLONE_NEWNET changes only the calling thread's network namespace. The file
    // descriptor table is not unshared (no CLONE_FILES), so descriptors stay valid in every
    // thread.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .context("creating a private network namespace (unshare CLONE_NEWNET) needs root")
}
