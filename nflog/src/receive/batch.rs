//! One datagram's packets, borrowed from the receive buffer.

use crate::error::{Error, ParseError, Request};
use crate::receive::stats::Accounting;
use crate::wire::kind::{MSG_PACKET, NLMSG_DONE, NLMSG_ERROR};
use crate::wire::netlink::{Message, Messages};
use crate::wire::packet::Packet;

/// The packets of one datagram, in the order the kernel queued them.
///
/// Yields `Err` for a message that does not parse (and goes on with the next one when the
/// message's own length can be trusted) and for an error message from the kernel.
/// Statistics are updated as packets are yielded; dropping a batch before its end still
/// counts the rest.
pub struct Batch<'a> {
    messages: Messages<'a>,
    accounting: &'a mut Accounting,
    truncated: bool,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(datagram: &'a [u8], truncated: bool, accounting: &'a mut Accounting) -> Self {
        Batch {
            messages: Messages::new(datagram),
            accounting,
            truncated,
        }
    }

    /// Whether the datagram was larger than the receive buffer and its end was cut off.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl<'a> Batch<'a> {
    /// Walks the messages until `on_packet` or `on_error` returns `Some`, and returns that;
    /// `None` at the end of the datagram. The one walk behind [`next`](Iterator::next) and
    /// [`for_each_packet`](Self::for_each_packet).
    // Perf: `#[inline(always)]` with the two closures, so that a packet goes from the parse
    // to its consumer without being wrapped in `Option<Result<..>>` and copied out again
    // when the consumer is a callback (figures: docs/benchmarks.md, "Code shaped for speed").
    #[inline(always)]
    fn walk<R>(
        messages: &mut Messages<'a>,
        accounting: &mut Accounting,
        truncated: bool,
        mut on_packet: impl FnMut(Packet<&'a [u8]>) -> Option<R>,
        mut on_error: impl FnMut(Error) -> Option<R>,
    ) -> Option<R> {
        loop {
            // Perf: a whole packet message, nearly every message, is taken as itself, not
            // as an `Option<Result<..>>` whose other cases must be ruled out first
            // (figures: docs/benchmarks.md, "Code shaped for speed").
            if let Some(message) = messages.next_of_type(MSG_PACKET) {
                match Self::packet(message, accounting, &mut on_packet, &mut on_error) {
                    Some(r) => break Some(r),
                    None => continue,
                }
            }
            let Some(message) = messages.next() else {
                break None;
            };
            let message = match message {
                Ok(message) => message,
                Err(ParseError::MessageLength { .. } | ParseError::Truncated { .. })
                    if truncated =>
                {
                    // The message the buffer cut: already counted as a truncation.
                    *messages = Messages::new(&[]);
                    break None;
                }
                Err(e) => {
                    accounting.stats.malformed += 1;
                    match on_error(e.into()) {
                        Some(r) => break Some(r),
                        None => continue,
                    }
                }
            };
            let stop = match message.message_type() {
                // `next_of_type` takes every whole packet message; one that came here would
                // still be a packet.
                MSG_PACKET => Self::packet(message, accounting, &mut on_packet, &mut on_error),
                NLMSG_DONE => {
                    *messages = Messages::new(&[]);
                    break None;
                }
                NLMSG_ERROR => match message.error_code() {
                    Ok(Some(0)) => None, // a stray acknowledgement
                    Ok(Some(errno)) => on_error(Error::Kernel {
                        request: Request::Receive,
                        group: None,
                        errno,
                    }),
                    Ok(None) => None,
                    Err(e) => {
                        accounting.stats.malformed += 1;
                        on_error(e.into())
                    }
                },
                // NLMSG_NOOP, NLMSG_OVERRUN and types of other subsystems carry no packet.
                _ => None,
            };
            if stop.is_some() {
                break stop;
            }
        }
    }

    /// Parses a packet message and hands the packet to `on_packet`, or its error, counted,
    /// to `on_error`.
    #[inline(always)]
    fn packet<R>(
        message: Message<'a>,
        accounting: &mut Accounting,
        on_packet: &mut impl FnMut(Packet<&'a [u8]>) -> Option<R>,
        on_error: &mut impl FnMut(Error) -> Option<R>,
    ) -> Option<R> {
        // Perf: the packet is built in place and handed on from there; a
        // `Result<Packet, _>` would be moved out of, and copied, on every packet.
        let mut packet = Packet::unindexed(message.body());
        match packet.fill_index() {
            Ok(()) => {
                accounting.packet(&packet);
                on_packet(packet)
            }
            Err(e) => {
                accounting.stats.malformed += 1;
                on_error(e.into())
            }
        }
    }

    /// Calls `callback` for each packet; a message that does not parse is counted in
    /// [`Stats::malformed`](crate::Stats::malformed) and skipped: [`Listener::run`]'s walk.
    ///
    /// [`Listener::run`]: crate::Listener::run
    // Perf: a walk of its own: `for_each_packet` with a closure that ignores the error, or
    // one helper behind both, costs `run` about 30 instructions a packet (figures:
    // docs/benchmarks.md, "Code shaped for speed").
    #[inline]
    pub(crate) fn run_callback(
        mut self,
        callback: &mut impl FnMut(Packet<&'a [u8]>),
    ) -> Result<(), Error> {
        let mut messages = core::mem::replace(&mut self.messages, Messages::new(&[]));
        let stop = Self::walk(
            &mut messages,
            self.accounting,
            self.truncated,
            |packet| {
                callback(packet);
                None
            },
            |error| match error {
                Error::Parse(_) => None,
                other => Some(other),
            },
        );
        self.messages = messages;
        match stop {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Calls `on_packet` for each packet and `on_malformed` for each message that does not
    /// parse (counted in [`Stats::malformed`](crate::Stats::malformed) too, then skipped),
    /// in the datagram's order: what iterating yields, without each packet wrapped in
    /// `Option<Result<..>>`. Returns the first other error, leaving the rest of the
    /// datagram to be counted when the batch is dropped, as [`next`](Iterator::next) would.
    ///
    /// # Errors
    ///
    /// An error message from the kernel among the packets ([`Error::Kernel`]).
    #[inline]
    pub fn for_each_packet(
        mut self,
        mut on_packet: impl FnMut(Packet<&'a [u8]>),
        mut on_malformed: impl FnMut(ParseError),
    ) -> Result<(), Error> {
        // Perf: the walk's place in the datagram is kept in a local, put back once at the
        // end, so that it can stay in registers while packets go to the callback; the
        // iterator, which returns after each packet, walks the batch's own (figures:
        // docs/benchmarks.md, "Code shaped for speed").
        let mut messages = core::mem::replace(&mut self.messages, Messages::new(&[]));
        let stop = Self::walk(
            &mut messages,
            self.accounting,
            self.truncated,
            |packet| {
                on_packet(packet);
                None
            },
            |error| match error {
                Error::Parse(e) => {
                    on_malformed(e);
                    None
                }
                other => Some(other),
            },
        );
        self.messages = messages;
        match stop {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl<'a> Iterator for Batch<'a> {
    type Item = Result<Packet<&'a [u8]>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        Self::walk(
            &mut self.messages,
            self.accounting,
            self.truncated,
            |packet| Some(Ok(packet)),
            |error| Some(Err(error)),
        )
    }
}

impl core::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Batch")
            .field("bytes_left", &self.messages.remaining().len())
            .field("truncated", &self.truncated)
            .finish_non_exhaustive()
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // Count what the caller did not look at.
        for _ in self.by_ref() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::stats::Stats;
    use crate::wire::kind::{MSG_CONFIG, NLMSG_NOOP, NLMSG_OVERRUN};
    use crate::wire::netlink::{emit_header, emit_message, NLMSG_HDRLEN};
    use crate::wire::packet::PacketRepr;

    /// Appends one netlink message, padded to 4 bytes.
    fn push_message(datagram: &mut Vec<u8>, message_type: u16, body: &[u8]) {
        emit_message(datagram, message_type, 0, 0, body);
    }

    /// A packet message body for group 5 with a payload of `payload_len` bytes, an
    /// `NFULA_SEQ` when given, and `mark` as NFULA_MARK to tell the packets apart.
    fn packet_body(mark: u32, payload_len: usize, seq: Option<u32>) -> Vec<u8> {
        PacketRepr {
            group: 5,
            hook: 1,
            mark: Some(mark),
            seq,
            payload: (payload_len > 0).then(|| vec![0x45; payload_len]),
            ..PacketRepr::default()
        }
        .to_bytes()
    }

    fn push_packet(datagram: &mut Vec<u8>, mark: u32, payload_len: usize, seq: Option<u32>) {
        push_message(datagram, MSG_PACKET, &packet_body(mark, payload_len, seq));
    }

    /// An `NLMSG_ERROR` body: the negated errno, then the offending request's header.
    fn error_body(errno: i32) -> Vec<u8> {
        let mut body = (-errno).to_ne_bytes().to_vec();
        emit_header(&mut body, 16, MSG_CONFIG, 0, 1);
        body
    }

    /// What one walk of a batch gave: marks of the packets, or a description of the error.
    fn walk(datagram: &[u8], truncated: bool, accounting: &mut Accounting) -> Vec<String> {
        Batch::new(datagram, truncated, accounting)
            .map(|item| match item {
                Ok(p) => format!("mark {}", p.mark().unwrap()),
                Err(Error::Kernel {
                    request: Request::Receive,
                    group: None,
                    errno,
                }) => format!("errno {errno}"),
                Err(Error::Parse(e)) => format!("parse: {e}"),
                Err(other) => format!("other: {other}"),
            })
            .collect()
    }

    #[test]
    fn packets_then_done_and_nothing_after_done() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 20, None);
        push_packet(&mut datagram, 2, 0, None);
        push_packet(&mut datagram, 3, 7, None);
        push_message(&mut datagram, NLMSG_DONE, &0i32.to_ne_bytes());
        push_packet(&mut datagram, 4, 100, None);
        let mut acc = Accounting::default();
        assert_eq!(
            walk(&datagram, false, &mut acc),
            vec!["mark 1", "mark 2", "mark 3"]
        );
        assert_eq!(
            acc.stats,
            Stats {
                packets: 3,
                bytes: 27,
                ..Stats::default()
            }
        );
    }

    #[test]
    fn packets_are_borrowed_from_the_datagram() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 9, 3, None);
        let mut acc = Accounting::default();
        let mut batch = Batch::new(&datagram, false, &mut acc);
        assert!(!batch.is_truncated());
        let p = batch.next().unwrap().unwrap();
        assert_eq!(p.as_bytes(), &datagram[NLMSG_HDRLEN..]);
        assert_eq!(p.payload(), Some(&[0x45u8; 3][..]));
        assert!(batch.next().is_none());
        assert!(batch.next().is_none(), "stays finished");
    }

    #[test]
    fn kernel_error_inside_a_batch_is_yielded_and_the_walk_goes_on() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 0, None);
        push_message(&mut datagram, NLMSG_ERROR, &error_body(libc::ENOBUFS));
        push_packet(&mut datagram, 2, 0, None);
        push_message(&mut datagram, NLMSG_DONE, &[0; 4]);
        let mut acc = Accounting::default();
        assert_eq!(
            walk(&datagram, false, &mut acc),
            vec![
                "mark 1".to_string(),
                format!("errno {}", libc::ENOBUFS),
                "mark 2".to_string()
            ]
        );
        assert_eq!(acc.stats.packets, 2);
        assert_eq!(acc.stats.malformed, 0, "a kernel error is not malformed");
    }

    #[test]
    fn ack_noop_overrun_and_other_types_are_skipped() {
        let mut datagram = Vec::new();
        push_message(&mut datagram, NLMSG_ERROR, &error_body(0));
        push_packet(&mut datagram, 1, 0, None);
        push_message(&mut datagram, NLMSG_NOOP, &[]);
        push_message(&mut datagram, NLMSG_OVERRUN, &[]);
        push_message(&mut datagram, MSG_CONFIG, &[0; 4]);
        push_message(&mut datagram, 0x0300, &[0; 8]);
        push_packet(&mut datagram, 2, 0, None);
        let mut acc = Accounting::default();
        assert_eq!(walk(&datagram, false, &mut acc), vec!["mark 1", "mark 2"]);
        assert_eq!(acc.stats.packets, 2);
        assert_eq!(acc.stats.malformed, 0);
    }

    #[test]
    fn error_message_too_short_for_its_code_is_malformed() {
        let mut datagram = Vec::new();
        push_message(&mut datagram, NLMSG_ERROR, &[0, 0]);
        push_packet(&mut datagram, 1, 0, None);
        let mut acc = Accounting::default();
        assert_eq!(
            walk(&datagram, false, &mut acc),
            vec![
                "parse: truncated netlink error message: needs 20 bytes, 18 left",
                "mark 1"
            ]
        );
        assert_eq!(acc.stats.malformed, 1);
        assert_eq!(acc.stats.packets, 1);
    }

    #[test]
    fn malformed_packet_is_an_error_and_the_next_packet_still_comes() {
        let mut bad = packet_body(1, 0, None);
        // NFULA_MARK cut to 3 bytes, in a message whose own length is right.
        bad.truncate(bad.len() - 1);
        let at = bad.len() - 7;
        bad[at..at + 2].copy_from_slice(&7u16.to_ne_bytes());
        let mut datagram = Vec::new();
        push_message(&mut datagram, MSG_PACKET, &bad);
        push_packet(&mut datagram, 2, 4, None);
        let mut acc = Accounting::default();
        let mut batch = Batch::new(&datagram, false, &mut acc);
        let first = batch.next().unwrap().unwrap_err();
        assert!(
            matches!(
                first,
                Error::Parse(ParseError::AttributeSize {
                    attr: crate::wire::kind::PacketAttr::Mark,
                    nested: None,
                    needed: 4,
                    found: 3
                })
            ),
            "{first:?}"
        );
        assert_eq!(batch.next().unwrap().unwrap().mark(), Some(2));
        assert!(batch.next().is_none());
        drop(batch);
        assert_eq!(acc.stats.malformed, 1);
        assert_eq!(acc.stats.packets, 1);
        assert_eq!(acc.stats.bytes, 4);
    }

    #[test]
    fn a_packet_message_without_packet_header_is_malformed() {
        let mut datagram = Vec::new();
        push_message(&mut datagram, MSG_PACKET, &[2, 0, 0, 5]);
        push_packet(&mut datagram, 3, 0, None);
        let mut acc = Accounting::default();
        assert_eq!(
            walk(&datagram, false, &mut acc),
            vec![
                "parse: packet message lacks attribute NFULA_PACKET_HDR (1)",
                "mark 3"
            ]
        );
        assert_eq!(acc.stats.malformed, 1);
    }

    #[test]
    fn lying_message_length_stops_the_walk_with_an_error() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 0, None);
        let second = datagram.len();
        push_packet(&mut datagram, 2, 0, None);
        push_packet(&mut datagram, 3, 0, None);
        let rest = datagram.len() - second;
        datagram[second..second + 4].copy_from_slice(&4000u32.to_ne_bytes());
        let mut acc = Accounting::default();
        assert_eq!(
            walk(&datagram, false, &mut acc),
            vec![
                "mark 1".to_string(),
                format!(
                    "parse: netlink message declares 4000 bytes but {rest} are left \
                     (at least 16 are needed)"
                )
            ]
        );
        assert_eq!(acc.stats.packets, 1);
        assert_eq!(acc.stats.malformed, 1);

        // A length under the header is just as untrustworthy.
        datagram[second..second + 4].copy_from_slice(&4u32.to_ne_bytes());
        let mut acc = Accounting::default();
        let got = walk(&datagram, false, &mut acc);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], "mark 1");
        assert!(got[1].starts_with("parse: netlink message declares 4 bytes"));
        assert_eq!(acc.stats.malformed, 1);
    }

    #[test]
    fn truncated_datagram_yields_the_whole_messages_and_no_error() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 10, None);
        push_packet(&mut datagram, 2, 10, None);
        let third = datagram.len();
        push_packet(&mut datagram, 3, 10, None);
        // Cut inside the third message's body, then inside its header.
        for cut in [datagram.len() - 1, third + 20, third + 15, third + 1] {
            let mut acc = Accounting::default();
            let batch = Batch::new(&datagram[..cut], true, &mut acc);
            assert!(batch.is_truncated());
            let got: Vec<_> = batch.map(|p| p.unwrap().mark().unwrap()).collect();
            assert_eq!(got, vec![1, 2], "cut at {cut}");
            assert_eq!(acc.stats.packets, 2);
            assert_eq!(acc.stats.bytes, 20);
            assert_eq!(acc.stats.malformed, 0);
        }
        // Without the truncation flag, the same cut is an error.
        let mut acc = Accounting::default();
        let got = walk(&datagram[..third + 20], false, &mut acc);
        assert_eq!(got.len(), 3);
        assert!(got[2].starts_with("parse: netlink message declares"));
        assert_eq!(acc.stats.malformed, 1);
        let got = walk(&datagram[..third + 15], false, &mut acc);
        assert_eq!(
            got[2],
            "parse: truncated netlink message header: needs 16 bytes, 15 left"
        );
    }

    #[test]
    fn sequence_gaps_are_counted() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 0, Some(0));
        push_packet(&mut datagram, 2, 0, Some(1));
        push_packet(&mut datagram, 3, 0, Some(4));
        push_packet(&mut datagram, 4, 0, Some(5));
        push_message(&mut datagram, NLMSG_DONE, &[0; 4]);
        let mut acc = Accounting::default();
        assert_eq!(walk(&datagram, false, &mut acc).len(), 4);
        assert_eq!(acc.stats.seq_gaps, 2, "2 and 3 are missing");

        // The tracker carries over to the next datagram.
        let mut next = Vec::new();
        push_packet(&mut next, 5, 0, Some(9));
        assert_eq!(walk(&next, false, &mut acc).len(), 1);
        assert_eq!(acc.stats.seq_gaps, 5);
        assert_eq!(acc.stats.packets, 5);
    }

    #[test]
    fn dropping_a_half_consumed_batch_counts_the_rest() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 5, Some(0));
        push_packet(&mut datagram, 2, 6, Some(1));
        push_message(&mut datagram, MSG_PACKET, &[2, 0, 0, 5]); // malformed
        push_packet(&mut datagram, 3, 7, Some(3));
        push_message(&mut datagram, NLMSG_DONE, &[0; 4]);
        push_packet(&mut datagram, 4, 8, Some(4)); // after DONE: never counted
        let mut acc = Accounting::default();
        {
            let mut batch = Batch::new(&datagram, false, &mut acc);
            assert_eq!(batch.next().unwrap().unwrap().mark(), Some(1));
        }
        assert_eq!(
            acc.stats,
            Stats {
                packets: 3,
                bytes: 18,
                seq_gaps: 1,
                malformed: 1,
                ..Stats::default()
            }
        );
    }

    #[test]
    fn for_each_packet_skips_malformed_and_stops_at_a_kernel_error_as_next_does() {
        // What `Listener::run` walks with: the same packets, counts and error as the
        // iterator, and the rest of the datagram counted when the batch is dropped.
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 5, Some(0));
        push_message(&mut datagram, MSG_PACKET, &[2, 0, 0, 5]); // malformed
        push_packet(&mut datagram, 2, 6, Some(1));
        push_message(&mut datagram, NLMSG_ERROR, &error_body(libc::ENOBUFS));
        push_packet(&mut datagram, 3, 7, Some(5));
        push_message(&mut datagram, NLMSG_DONE, &[0; 4]);
        push_packet(&mut datagram, 4, 8, Some(6)); // after DONE: never counted
        let mut acc = Accounting::default();
        let mut marks = Vec::new();
        let mut malformed = Vec::new();
        let result = Batch::new(&datagram, false, &mut acc).for_each_packet(
            |p| marks.push(p.mark().unwrap()),
            |e| malformed.push(e.to_string()),
        );
        assert!(
            matches!(
                result,
                Err(Error::Kernel {
                    request: Request::Receive,
                    group: None,
                    errno: libc::ENOBUFS
                })
            ),
            "{result:?}"
        );
        assert_eq!(marks, vec![1, 2]);
        assert_eq!(
            malformed,
            vec!["packet message lacks attribute NFULA_PACKET_HDR (1)".to_string()]
        );
        let expected = Stats {
            packets: 3,
            bytes: 18,
            seq_gaps: 3,
            malformed: 1,
            ..Stats::default()
        };
        assert_eq!(acc.stats, expected);

        let mut acc = Accounting::default();
        let got = walk(&datagram, false, &mut acc);
        assert_eq!(
            got,
            vec![
                "mark 1".to_string(),
                "parse: packet message lacks attribute NFULA_PACKET_HDR (1)".to_string(),
                "mark 2".to_string(),
                format!("errno {}", libc::ENOBUFS),
                "mark 3".to_string()
            ]
        );
        assert_eq!(acc.stats, expected);
    }

    #[test]
    fn for_each_packet_ends_at_a_lying_message_length_without_an_error() {
        let mut datagram = Vec::new();
        push_packet(&mut datagram, 1, 0, None);
        let second = datagram.len();
        push_packet(&mut datagram, 2, 0, None);
        datagram[second..second + 4].copy_from_slice(&4000u32.to_ne_bytes());
        let mut acc = Accounting::default();
        let mut marks = Vec::new();
        let mut malformed = 0;
        Batch::new(&datagram, false, &mut acc)
            .for_each_packet(|p| marks.push(p.mark().unwrap()), |_| malformed += 1)
            .unwrap();
        assert_eq!(marks, vec![1]);
        assert_eq!(malformed, 1);
        assert_eq!((acc.stats.packets, acc.stats.malformed), (1, 1));
    }

    #[test]
    fn empty_datagram_yields_nothing() {
        let mut acc = Accounting::default();
        assert!(walk(&[], false, &mut acc).is_empty());
        assert_eq!(acc.stats, Stats::default());
    }
}
