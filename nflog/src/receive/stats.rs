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
    /// The group of the last packet and the number expected next in it, while its entry's
    /// `next` waits to be brought up to date: the packets of a kernel batch are one
    /// group's, numbered one after the other.
    last: Option<(u16, u32)>,
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

impl GroupSeq {
    /// A group's entry made by its first packet, numbered `seq`.
    fn first(seq: u32) -> GroupSeq {
        GroupSeq {
            next: seq,
            lost: 0,
            rebound: false,
        }
    }

    /// Takes one packet's number; returns how many packets are missing before it.
    fn step(&mut self, seq: u32) -> u32 {
        if self.rebound && seq.wrapping_sub(self.next) >= 1 << 31 {
            // Going back after a rebinding: the new instance's numbers, from 0.
            self.rebound = false;
            self.next = 0;
        }
        let gap = seq.wrapping_sub(self.next);
        self.next = seq.wrapping_add(1);
        // A number below the expected one (the group was rebound elsewhere, or numbers
        // wrapped oddly) is a restart, not a loss of four billion packets.
        let gap = if gap < 1 << 31 { gap } else { 0 };
        self.lost += u64::from(gap);
        gap
    }
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
        self.settle();
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
    // Perf: the packet that follows the last one of its group, nearly every packet, moves
    // one number on and touches no entry (figures: docs/benchmarks.md, "Code shaped for
    // speed").
    #[inline]
    pub(crate) fn observe(&mut self, group: u16, seq: u32) -> u32 {
        match &mut self.last {
            Some((last_group, next)) if *last_group == group && *next == seq => {
                *next = seq.wrapping_add(1);
                0
            }
            _ => self.observe_entry(group, seq),
        }
    }

    /// Brings the last group's entry up to date with the number expected next.
    fn settle(&mut self) {
        if let Some((group, next)) = self.last.take() {
            if let Some(entry) = self.groups.get_mut(group) {
                entry.next = next;
            }
        }
    }

    /// [`observe`](Self::observe) through the group's entry: a packet of another group than
    /// the last one, or not the number expected.
    #[inline(never)]
    fn observe_entry(&mut self, group: u16, seq: u32) -> u32 {
        self.settle();
        let entry = self
            .groups
            .entry_or_insert_with(group, || GroupSeq::first(seq));
        let gap = entry.step(seq);
        self.last = Some((group, entry.next));
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        #[test]
        fn the_last_groups_shortcut_counts_as_every_packet_looked_up(
            // (group, what happens): a binding, the next number, or a jump forward or back.
            ops in proptest::collection::vec((0u16..3, 0u8..10, 0u32..6), 0..120),
        ) {
            // The reference takes every packet through its group's entry (`observe_entry`,
            // the shortcut's way out), never by the shortcut.
            let mut tracker = SeqTracker::default();
            let mut reference = SeqTracker::default();
            let mut seq = [0u32; 3];
            for (group, what, jump) in ops {
                let g = usize::from(group);
                match what {
                    0 => {
                        tracker.bound(group);
                        reference.bound(group);
                        continue;
                    }
                    1 => seq[g] = seq[g].wrapping_add(jump),
                    2 => seq[g] = seq[g].wrapping_sub(jump),
                    3 => seq[g] = jump,
                    _ => {}
                }
                proptest::prop_assert_eq!(
                    tracker.observe(group, seq[g]),
                    reference.observe_entry(group, seq[g])
                );
                seq[g] = seq[g].wrapping_add(1);
                for g in 0..4 {
                    proptest::prop_assert_eq!(tracker.lost(g), reference.lost(g));
                }
            }
        }
    }

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
