//! Counters of what was received and what was lost.

use core::fmt;

use crate::receive::per_group::PerGroup;
use crate::wire::kind::PacketAttr;
use crate::wire::packet::Packet;

/// What a [`Listener`](crate::Listener) has received and lost so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received from the kernel.
    pub datagrams: u64,
    /// Packet messages parsed.
    pub packets: u64,
    /// Payload bytes received (what the copy range let through).
    pub bytes: u64,
    /// Times the kernel reported a full receive buffer (ENOBUFS): each time, one or more
    /// whole batches were dropped.
    pub overruns: u64,
    /// Packets missing from the groups' sequence numbers (flag `SEQ`): how many the
    /// overruns cost, counted when a later packet of the same group arrives.
    pub seq_gaps: u64,
    /// Datagrams cut because they were larger than the receive buffer (`MSG_TRUNC`); the
    /// whole messages before the cut were still delivered.
    pub truncated: u64,
    /// Messages that did not parse.
    pub malformed: u64,
    /// The socket receive buffer, in bytes, as `SO_RCVBUF` last reported it.
    pub receive_buffer: usize,
    /// Times the receive buffer was grown after an overrun.
    pub buffer_growths: u64,
    /// Overruns after which the receive buffer could not grow: past twice
    /// `net.core.rmem_max` only CAP_NET_ADMIN may grow it (`SO_RCVBUFFORCE`), as after
    /// privileges were dropped, and it is never made smaller instead.
    pub growth_refused: u64,
    /// Packets dropped because they arrived while a configuration request awaited its
    /// acknowledgement and [`MAX_PENDING`](crate::MAX_PENDING) bytes of datagrams
    /// were kept aside already.
    pub request_drops: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} packets ({} bytes) in {} datagrams; {} kernel overruns, {} packets lost by \
             sequence, {} truncated datagrams, {} malformed messages; receive buffer {} bytes \
             ({} growths)",
            self.packets,
            self.bytes,
            self.datagrams,
            self.overruns,
            self.seq_gaps,
            self.truncated,
            self.malformed,
            self.receive_buffer,
            self.buffer_growths
        )?;
        // Said only when they happened, so the usual line stays as it was.
        if self.growth_refused > 0 {
            write!(f, "; growth refused {} times", self.growth_refused)?;
        }
        if self.request_drops > 0 {
            write!(
                f,
                "; {} packets dropped while a request awaited its answer",
                self.request_drops
            )?;
        }
        Ok(())
    }
}

/// The expected next sequence number of each group, to count gaps.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeqTracker {
    /// One entry per group seen or bound.
    groups: PerGroup<GroupSeq>,
}

#[derive(Debug, Clone, Copy)]
struct GroupSeq {
    /// The next expected `NFULA_SEQ`.
    next: u32,
    /// Packets missing so far.
    lost: u64,
    /// The group was bound again while numbers of its previous instance may still be on
    /// the way: unbinding makes the kernel flush the old instance's batch (nfnetlink_log.c:
    /// `__instance_destroy`), and those messages arrive after the new binding.
    rebound: bool,
}

impl SeqTracker {
    /// Notes that `group` was bound: a new instance numbers its packets from 0.
    ///
    /// When the group was bound before, the old instance's last batch may still arrive: its
    /// numbers go on from where the old ones stopped, while the new instance's start again
    /// below them. So the expected number stays until a number goes back, which marks the
    /// first packet of the new instance (the packets before it in the new numbering are
    /// lost).
    pub(crate) fn bound(&mut self, group: u16) {
        match self.groups.get_mut(group) {
            Some(entry) => entry.rebound = true,
            None => {
                self.groups.entry_or_insert_with(group, || GroupSeq {
                    next: 0,
                    lost: 0,
                    rebound: false,
                });
            }
        }
    }

    /// Records one packet's sequence number; returns how many packets are missing before it.
    #[inline]
    pub(crate) fn observe(&mut self, group: u16, seq: u32) -> u32 {
        let entry = self.groups.entry_or_insert_with(group, || GroupSeq {
            next: seq,
            lost: 0,
            rebound: false,
        });
        if entry.rebound && seq.wrapping_sub(entry.next) >= 1 << 31 {
            // Going back after a rebinding: the new instance's numbers, from 0.
            entry.rebound = false;
            entry.next = 0;
        }
        let gap = seq.wrapping_sub(entry.next);
        entry.next = seq.wrapping_add(1);
        // A number below the expected one (the group was rebound elsewhere, or numbers
        // wrapped oddly) is a restart, not a loss of four billion packets.
        let gap = if gap < 1 << 31 { gap } else { 0 };
        entry.lost += u64::from(gap);
        gap
    }

    /// Packets lost so far in `group`, by its sequence numbers (0 for a group never seen).
    pub(crate) fn lost(&self, group: u16) -> u64 {
        self.groups.get(group).map_or(0, |g| g.lost)
    }
}

/// Statistics and sequence tracking, updated as a batch is walked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accounting {
    pub(crate) stats: Stats,
    pub(crate) seq: SeqTracker,
}

impl Accounting {
    // Perf: inlined into `Batch::next` (another codegen unit), with `observe`, so that the
    // accounting adds no call per packet to `Listener::run` (figures: docs/benchmarks.md,
    // "Code shaped for speed").
    #[inline]
    pub(crate) fn packet(&mut self, packet: &Packet<&[u8]>) {
        self.stats.packets += 1;
        self.stats.bytes += packet.value_len(PacketAttr::Payload).unwrap_or(0) as u64;
        if let Some(seq) = packet.seq() {
            self.stats.seq_gaps += u64::from(self.seq.observe(packet.group(), seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_counted_per_group() {
        let mut t = SeqTracker::default();
        t.bound(5);
        t.bound(6);
        assert_eq!(t.observe(5, 0), 0);
        assert_eq!(t.observe(5, 1), 0);
        assert_eq!(
            t.observe(6, 3),
            3,
            "group 6 starts at 0: 0, 1, 2 are missing"
        );
        assert_eq!(t.observe(5, 10), 8);
        assert_eq!(t.observe(5, 11), 0);
        assert_eq!(t.observe(6, 4), 0);
        assert_eq!((t.lost(5), t.lost(6), t.lost(7)), (8, 3, 0));
    }

    #[test]
    fn a_group_first_seen_without_reset_starts_where_it_is() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(9, 100), 0);
        assert_eq!(t.observe(9, 102), 1);
    }

    #[test]
    fn wrap_around_is_not_a_gap_and_going_back_is_a_restart() {
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(1, u32::MAX - 1), 0);
        assert_eq!(t.observe(1, u32::MAX), 0);
        assert_eq!(t.observe(1, 0), 0);
        assert_eq!(t.observe(1, 2), 1);
        assert_eq!(
            t.observe(1, 1),
            0,
            "a number going back is not counted as loss"
        );
        assert_eq!(t.observe(1, 2), 0);
    }

    #[test]
    fn rebinding_starts_again_from_zero() {
        let mut t = SeqTracker::default();
        t.bound(1);
        assert_eq!(t.observe(1, 50), 50);
        t.bound(1);
        assert_eq!(t.observe(1, 0), 0);
        assert_eq!(t.observe(1, 3), 2, "the new instance's gaps count");
        assert_eq!(t.lost(1), 52);
    }

    #[test]
    fn old_instances_flushed_batch_after_rebinding_is_not_a_gap() {
        // Issue 15 item 3: SEQ, qthresh 10: 25 sent, 20 read, the group removed and added
        // again (the kernel flushes 20..=24 before acknowledging the unbind), 10 sent.
        let mut t = SeqTracker::default();
        t.bound(7);
        let mut gaps = 0;
        for seq in 0..20 {
            gaps += t.observe(7, seq);
        }
        t.bound(7);
        for seq in (20..25).chain(0..10) {
            gaps += t.observe(7, seq);
        }
        assert_eq!((gaps, t.lost(7)), (0, 0));
        // The new instance losing its first packets still shows.
        t.bound(7);
        assert_eq!(t.observe(7, 4), 4);
    }
}
