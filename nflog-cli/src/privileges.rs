//! Least privilege once the groups are bound: every capability goes, with or without
//! `-Z USER`, which also switches users as tcpdump does.
//!
//! Receiving from a bound socket needs no privilege; binding (and installing rules) does,
//! so the command does all of that first, then calls [`drop_all`] before it starts any
//! thread: capabilities belong to each thread (`capset(2)`, `PR_CAPBSET_DROP`), and a
//! thread started earlier would keep its own.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use nix::unistd::{setgid, setgroups, setuid, Gid, Uid, User};
use rustix::thread::{
    capabilities, capability_is_in_bounding_set, clear_ambient_capability_set,
    remove_capability_from_bounding_set, set_capabilities, CapabilitySet, CapabilitySets,
};

/// The user `-Z` switches to: its uid and primary group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The user id.
    pub uid: Uid,
    /// The primary group id.
    pub gid: Gid,
}

/// Finds the user `-Z` names: a user name, a numeric uid (with that user's primary group,
/// or the group of the same number when no user has that uid, as systemd's dynamic users
/// are made), or `UID:GID`.
pub fn target(spec: &str) -> Result<Target> {
    if let Some((uid, gid)) = spec.split_once(':') {
        let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) else {
            bail!("-Z {spec}: give a user name, a numeric uid, or UID:GID (both numbers)");
        };
        return Ok(Target {
            uid: Uid::from_raw(uid),
            gid: Gid::from_raw(gid),
        });
    }
    if let Ok(uid) = spec.parse::<u32>() {
        let uid = Uid::from_raw(uid);
        let user = User::from_uid(uid).with_context(|| format!("-Z {spec}: looking up uid"))?;
        let gid = user.map_or(Gid::from_raw(uid.as_raw()), |u| u.gid);
        return Ok(Target { uid, gid });
    }
    let user = User::from_name(spec)
        .with_context(|| format!("-Z {spec}: looking up user"))?
        .ok_or_else(|| {
            anyhow!(
                "-Z {spec}: no user of that name: give -Z an existing user (such as nobody) or \
                 a numeric uid"
            )
        })?;
    Ok(Target {
        uid: user.uid,
        gid: user.gid,
    })
}

/// Gives the output file at `path` to `target`, as tcpdump's output files belong to the
/// user it switches to; the final component is not followed if it is a symbolic link.
pub fn hand_over(path: &Path, target: Target) -> Result<()> {
    std::os::unix::fs::lchown(path, Some(target.uid.as_raw()), Some(target.gid.as_raw()))
        .with_context(|| {
            format!(
                "-Z: giving {} to uid {} (chown)",
                path.display(),
                target.uid
            )
        })
}

/// Checks, once the capture runs as the user `-Z {spec}` named, that it can write each of
/// `dirs`, where file outputs rotating with -C or -G make their next files: found now, not
/// at the first rotation, hours later.
///
/// # Errors
///
/// A directory the user cannot write, with what to do.
pub fn check_rotation_dirs(spec: &str, dirs: &[&Path]) -> Result<()> {
    for dir in dirs {
        // access(2) asks with the real ids, which switching users set too.
        if let Err(e) = rustix::fs::access(*dir, rustix::fs::Access::WRITE_OK) {
            let e = std::io::Error::from(e);
            bail!(
                "-Z {spec}: -C and -G make new files in {}, and user {spec} cannot write \
                 there ({e}): give {spec} write access to it (chown {spec} {}), or choose -w \
                 in a directory {spec} can write",
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// Drops every capability of the process (effective, permitted, inheritable, bounding and
/// ambient sets), first switching to `user` with no supplementary groups when `-Z` named
/// one. Call it once the groups are bound and before any thread starts.
///
/// # Errors
///
/// When the system refuses a step, or when a capability or root could be regained after it.
pub fn drop_all(user: Option<Target>) -> Result<()> {
    // The bounding set first, while CAP_SETPCAP is still there: it is what a later execve
    // (the post-rotate command, or anything a compromise would run) could gain back.
    let have = capabilities(None).context("reading the capabilities (capget)")?;
    if have.effective.contains(CapabilitySet::SETPCAP) {
        for bit in 0..64 {
            let cap = CapabilitySet::from_bits_retain(1 << bit);
            // EINVAL past the kernel's last capability: there is nothing more to drop.
            match capability_is_in_bounding_set(cap) {
                Ok(true) => remove_capability_from_bounding_set(cap)
                    .with_context(|| format!("dropping capability {bit} from the bounding set"))?,
                Ok(false) => {}
                Err(_) => break,
            }
        }
    }
    // EINVAL on kernels before 4.3, which have no ambient set to clear.
    match clear_ambient_capability_set() {
        Ok(()) | Err(rustix::io::Errno::INVAL) => {}
        Err(e) => return Err(e).context("clearing the ambient capabilities"),
    }
    if let Some(target) = user {
        switch_user(target)?;
    }
    set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: CapabilitySet::empty(),
            inheritable: CapabilitySet::empty(),
        },
    )
    .context("dropping every capability (capset)")?;
    let left = capabilities(None).context("reading the capabilities (capget)")?;
    if !(left.effective.is_empty() && left.permitted.is_empty() && left.inheritable.is_empty()) {
        bail!("capabilities are still there after dropping them ({left:?}); refusing to go on");
    }
    Ok(())
}

/// Switches to `target`'s user and group, with no supplementary groups, and checks that
/// root cannot be regained.
fn switch_user(target: Target) -> Result<()> {
    let spec = format!("-Z {}", target.uid);
    if !Uid::effective().is_root() {
        bail!("{spec}: only root can switch users; run as root or leave -Z out");
    }
    setgroups(&[]).context("dropping supplementary groups (setgroups)")?;
    setgid(target.gid).context("switching group (setgid)")?;
    setuid(target.uid).context("switching user (setuid)")?;
    if !target.uid.is_root() && setuid(Uid::from_raw(0)).is_ok() {
        bail!("{spec}: root privileges could be regained after switching users; refusing to go on");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_takes_a_name_a_uid_or_uid_and_gid() {
        let root = target("root").unwrap();
        assert_eq!((root.uid.as_raw(), root.gid.as_raw()), (0, 0));
        assert_eq!(target("0").unwrap(), root);
        // A uid no user has: the group of the same number.
        let t = target("4242").unwrap();
        assert_eq!((t.uid.as_raw(), t.gid.as_raw()), (4242, 4242));
        let t = target("4242:17").unwrap();
        assert_eq!((t.uid.as_raw(), t.gid.as_raw()), (4242, 17));
        let e = format!("{:#}", target("no-such-user-here").unwrap_err());
        assert!(
            e.starts_with("-Z no-such-user-here: no user of that name"),
            "{e}"
        );
        let e = format!("{:#}", target("12:x").unwrap_err());
        assert!(e.starts_with("-Z 12:x: give a user name"), "{e}");
    }
}
