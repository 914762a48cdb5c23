//! Who has bound which group: `/proc/net/netfilter/nfnetlink_log`, and from a port id to the
//! process holding that socket.
//!
//! Both files are per network namespace. They are read through `/proc/thread-self`, so they
//! describe the namespace of the calling thread, which is where a socket it opened lives.

use std::fs;
use std::io;
use std::path::Path;

use crate::error::GroupOwner;

const NETLINK_NETFILTER: u32 = 12;

/// One line of `/proc/net/netfilter/nfnetlink_log`: a bound group and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupBinding {
    /// The group.
    pub group: u16,
    /// The netlink port id of the socket that bound it.
    pub port_id: u32,
    /// Packets waiting in the kernel's current batch.
    pub queue_len: u32,
    /// The copy mode number (0 none, 1 meta, 2 packet).
    pub copy_mode: u8,
    /// The copy range in bytes.
    pub copy_range: u32,
    /// The flush timeout in hundredths of a second.
    pub flush_timeout: u32,
}

/// The groups bound in the calling thread's network namespace.
///
/// # Errors
///
/// When the file cannot be read (no procfs, or nfnetlink_log is not loaded).
pub fn group_bindings() -> io::Result<Vec<GroupBinding>> {
    let text = fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log")?;
    Ok(parse_bindings(&text))
}

/// Finds who owns `group`, if anyone does, as far as `/proc` can tell.
pub fn owner_of(group: u16) -> Option<GroupOwner> {
    let binding = group_bindings()
        .ok()?
        .into_iter()
        .find(|b| b.group == group)?;
    let process = fs::read_to_string("/proc/thread-self/net/netlink")
        .ok()
        .and_then(|text| socket_inode(&text, binding.port_id))
        .and_then(process_with_socket);
    Some(GroupOwner {
        port_id: binding.port_id,
        process,
    })
}

/// Parses the lines of `/proc/net/netfilter/nfnetlink_log`; malformed lines are skipped.
pub fn parse_bindings(text: &str) -> Vec<GroupBinding> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace().map(str::parse::<u32>);
            Some(GroupBinding {
                group: u16::try_from(f.next()?.ok()?).ok()?,
                port_id: f.next()?.ok()?,
                queue_len: f.next()?.ok()?,
                copy_mode: u8::try_from(f.next()?.ok()?).ok()?,
                copy_range: f.next()?.ok()?,
                flush_timeout: f.next()?.ok()?,
            })
        })
        .collect()
}

/// Finds the inode of the netfilter netlink socket with `port_id` in `/proc/net/netlink`.
fn socket_inode(text: &str, port_id: u32) -> Option<u64> {
    // Columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    text.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let protocol: u32 = fields.get(1)?.parse().ok()?;
        let pid: u32 = fields.get(2)?.parse().ok()?;
        (protocol == NETLINK_NETFILTER && pid == port_id)
            .then(|| fields.get(9)?.parse().ok())
            .flatten()
    })
}

/// Finds a process with `socket:[inode]` among its open files.
fn process_with_socket(inode: u64) -> Option<(u32, String)> {
    let wanted = format!("socket:[{inode}]");
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == Path::new(&wanted)));
        if holds {
            let command = fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            return Some((pid, command.trim_end().to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_format() {
        // nfnetlink_log.c seq_show: "%5u %6u %5u %1u %5u %6u %2u\n"
        let text =
            "    5   2023     3 2 65531    100  2\n65535 4294967295     0 1   128     10  1\n";
        assert_eq!(
            parse_bindings(text),
            vec![
                GroupBinding {
                    group: 5,
                    port_id: 2023,
                    queue_len: 3,
                    copy_mode: 2,
                    copy_range: 65531,
                    flush_timeout: 100
                },
                GroupBinding {
                    group: 65535,
                    port_id: u32::MAX,
                    queue_len: 0,
                    copy_mode: 1,
                    copy_range: 128,
                    flush_timeout: 10
                }
            ]
        );
        assert_eq!(parse_bindings("garbage\n70000 1 1 1 1 1 1\n"), vec![]);
    }

    #[test]
    fn finds_the_inode_of_a_netfilter_socket() {
        let text = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n\
                    ffff8880050a1000 0   1          00000000 0        0        0     2        0        11\n\
                    ffff8880050a2000 12  2023       00000000 0        0        0     2        0        4242\n\
                    ffff8880050a3000 12  99         00000000 0        0        0     2        0        77\n";
        assert_eq!(socket_inode(text, 2023), Some(4242));
        assert_eq!(socket_inode(text, 1), None);
        assert_eq!(socket_inode(text, 5), None);
    }

    #[test]
    fn owner_display_names_the_process() {
        let owner = GroupOwner {
            port_id: 77,
            process: Some((1234, "tcpdump".into())),
        };
        assert_eq!(
            owner.to_string(),
            "netlink port 77, process 1234 \"tcpdump\""
        );
    }
}
