//! `-Z USER`: give up root once the groups are bound, as tcpdump does.

use anyhow::{anyhow, bail, Context, Result};
use nix::unistd::{setgid, setgroups, setuid, Uid, User};

/// Switches the whole process to `name`'s user and primary group, with no supplementary
/// groups, and checks that root cannot be regained. Receiving needs no privilege.
pub fn drop_to(name: &str) -> Result<()> {
    let user = User::from_name(name)
        .with_context(|| format!("looking up user {name:?}"))?
        .ok_or_else(|| {
            anyhow!("no user named {name:?}: give -Z an existing user, such as nobody")
        })?;
    if !Uid::effective().is_root() {
        bail!("-Z {name}: only root can switch users; run as root or leave -Z out");
    }
    setgroups(&[user.gid]).context("dropping supplementary groups (setgroups)")?;
    setgid(user.gid).context("switching group (setgid)")?;
    setuid(user.uid).context("switching user (setuid)")?;
    if user.uid.is_root() {
        return Ok(());
    }
    if setuid(Uid::from_raw(0)).is_ok() {
        bail!(
            "-Z {name}: root privileges could be regained after switching users; refusing to go on"
        );
    }
    Ok(())
}
