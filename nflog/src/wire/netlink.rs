//! Netlink message headers (`struct nlmsghdr`) and the walk over a datagram's messages.
//!
//! A datagram from the kernel holds one or more messages, each starting with a 16-byte
//! header in **host byte order** and aligned to 4 bytes. nfnetlink_log batches several packet
//! messages into one datagram and closes such a batch with `NLMSG_DONE`.

use crate::error::{Header, ParseError};
use crate::wire::attr::align4;
use crate::wire::kind::NLMSG_ERROR;

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;

mod field {
    use core::ops::Range;
    pub const LEN: Range<usize> = 0..4;
    pub const TYPE: Range<usize> = 4..6;
    pub const FLAGS: Range<usize> = 6..8;
    pub const SEQ: Range<usize> = 8..12;
    pub const PID: Range<usize> = 12..16;
}

/// One netlink message, header and body, borrowed from a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    bytes: &'a [u8],
}

// Perf: the small accessors and `Messages::next` are `#[inline]`: without it a loop in
// another crate (a user's, the benches) pays a call per header field, which costs several
// times the walk itself (figures: docs/benchmarks.md, "Code shaped for speed").
impl<'a> Message<'a> {
    /// Checks that `bytes` starts with a header whose length covers the header and stays
    /// within `bytes`, and views that many bytes as one message.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when fewer than 16 bytes are left, and
    /// [`ParseError::MessageLength`] when the declared length is under 16 or past the end.
    #[inline]
    pub fn new_checked(bytes: &'a [u8]) -> Result<Message<'a>, ParseError> {
        if bytes.len() < NLMSG_HDRLEN {
            return Err(ParseError::Truncated {
                what: Header::NetlinkMessage,
                needed: NLMSG_HDRLEN,
                available: bytes.len(),
            });
        }
        let declared = u32_ne(&bytes[field::LEN]) as usize;
        if declared < NLMSG_HDRLEN || declared > bytes.len() {
            return Err(ParseError::MessageLength {
                declared,
                available: bytes.len(),
            });
        }
        Ok(Message {
            bytes: &bytes[..declared],
        })
    }

    /// `nlmsg_len`: the message's length, header included.
    #[inline]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a checked message holds at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `nlmsg_type`.
    #[inline]
    pub fn message_type(&self) -> u16 {
        u16_ne(&self.bytes[field::TYPE])
    }

    /// `nlmsg_flags`.
    #[inline]
    pub fn flags(&self) -> u16 {
        u16_ne(&self.bytes[field::FLAGS])
    }

    /// `nlmsg_seq`.
    #[inline]
    pub fn sequence(&self) -> u32 {
        u32_ne(&self.bytes[field::SEQ])
    }

    /// `nlmsg_pid`: the sender's port id (0 for the kernel).
    #[inline]
    pub fn port_id(&self) -> u32 {
        u32_ne(&self.bytes[field::PID])
    }

    /// The body after the header.
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        &self.bytes[NLMSG_HDRLEN..]
    }

    /// The whole message, header included.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// For an `NLMSG_ERROR` message, the error number it carries: 0 for an acknowledgement,
    /// else a positive errno.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when the body is shorter than the 4-byte error code.
    /// Returns `Ok(None)` for any other message type.
    pub fn error_code(&self) -> Result<Option<i32>, ParseError> {
        if self.message_type() != NLMSG_ERROR {
            return Ok(None);
        }
        match self.body().get(0..4) {
            Some(code) => Ok(Some(
                i32::from_ne_bytes([code[0], code[1], code[2], code[3]]).wrapping_neg(),
            )),
            None => Err(ParseError::Truncated {
                what: Header::NetlinkError,
                needed: NLMSG_HDRLEN + 4,
                available: self.len(),
            }),
        }
    }
}

/// Iterator over the messages of one datagram.
///
/// After an error it stops: a message whose length lies leaves no way to find the next one.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Messages<'a> {
    /// Walks the messages in `datagram`.
    pub const fn new(datagram: &'a [u8]) -> Self {
        Messages {
            rest: datagram,
            failed: false,
        }
    }

    /// The bytes not walked yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// The next message if it is whole and of type `message_type`, stepped over; `None`,
    /// and no step, for anything else, which [`next`](Iterator::next) then yields.
    // Perf: a message is handed over as itself, not as an `Option<Result<..>>` whose
    // error the caller must rule out first: the batch walk's way for packet messages
    // (figures: docs/benchmarks.md, "Code shaped for speed").
    #[inline(always)]
    pub(crate) fn next_of_type(&mut self, message_type: u16) -> Option<Message<'a>> {
        if self.failed {
            return None;
        }
        let header = self.rest.first_chunk::<NLMSG_HDRLEN>()?;
        if u16_ne(&header[field::TYPE]) != message_type {
            return None;
        }
        let message = Message::new_checked(self.rest).ok()?;
        self.step_over(message);
        Some(message)
    }

    /// Steps past `message`, the one at the start of the bytes left, and its padding.
    #[inline(always)]
    fn step_over(&mut self, message: Message<'a>) {
        self.rest = self.rest.get(align4(message.len())..).unwrap_or(&[]);
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, ParseError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match Message::new_checked(self.rest) {
            Ok(message) => {
                self.step_over(message);
                Some(Ok(message))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Writes a netlink header for a message of `len` bytes (header included) into `out`.
pub fn emit_header(out: &mut Vec<u8>, len: u32, message_type: u16, flags: u16, sequence: u32) {
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&message_type.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&sequence.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
}

/// Appends one whole netlink message: its header (the length counting header and body),
/// `body`, and zeroed padding up to 4 bytes, as the kernel lays out the messages of a
/// datagram.
pub fn emit_message(out: &mut Vec<u8>, message_type: u16, flags: u16, sequence: u32, body: &[u8]) {
    // A body of 4 GiB cannot be sent; the length saturates rather than wraps.
    let len = u32::try_from(NLMSG_HDRLEN + body.len()).unwrap_or(u32::MAX);
    emit_header(out, len, message_type, flags, sequence);
    out.extend_from_slice(body);
    out.resize(align4(out.len()), 0);
}

#[inline]
pub(crate) fn u16_ne(bytes: &[u8]) -> u16 {
    u16::from_ne_bytes([bytes[0], bytes[1]])
}

#[inline]
pub(crate) fn u32_ne(bytes: &[u8]) -> u32 {
    u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::kind::{MSG_PACKET, NLMSG_DONE};

    fn message(message_type: u16, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        emit_header(
            &mut out,
            (NLMSG_HDRLEN + body.len()) as u32,
            message_type,
            0,
            7,
        );
        out.extend_from_slice(body);
        out.resize(align4(out.len()), 0);
        out
    }

    #[test]
    fn header_fields_are_host_order() {
        let bytes = message(MSG_PACKET, &[1, 2, 3, 4]);
        let m = Message::new_checked(&bytes).unwrap();
        assert_eq!(m.len(), 20);
        assert_eq!(m.message_type(), 0x0400);
        assert_eq!(m.flags(), 0);
        assert_eq!(m.sequence(), 7);
        assert_eq!(m.port_id(), 0);
        assert_eq!(m.body(), &[1, 2, 3, 4]);
    }

    #[test]
    fn walks_several_messages_and_a_trailing_done() {
        let mut datagram = message(MSG_PACKET, &[1, 2, 3]);
        datagram.extend(message(MSG_PACKET, &[4; 8]));
        datagram.extend(message(NLMSG_DONE, &[0; 4]));
        let types: Vec<u16> = Messages::new(&datagram)
            .map(|m| m.unwrap().message_type())
            .collect();
        assert_eq!(types, vec![MSG_PACKET, MSG_PACKET, NLMSG_DONE]);
    }

    #[test]
    fn next_of_type_takes_only_whole_messages_of_its_type() {
        let mut datagram = message(MSG_PACKET, &[1, 2, 3]);
        datagram.extend(message(NLMSG_DONE, &[0; 4]));
        // A packet message whose length runs past the end.
        let mut lying = message(MSG_PACKET, &[9; 4]);
        lying[..4].copy_from_slice(&24u32.to_ne_bytes());
        datagram.extend(&lying);
        let mut walk = Messages::new(&datagram);
        let first = walk.next_of_type(MSG_PACKET).unwrap();
        assert_eq!(first.body(), &[1, 2, 3]);
        // Another type is left where it is, for `next`.
        assert!(walk.next_of_type(MSG_PACKET).is_none());
        assert_eq!(walk.next().unwrap().unwrap().message_type(), NLMSG_DONE);
        // So is a packet message that does not parse: `next` yields its error, then stops.
        assert!(walk.next_of_type(MSG_PACKET).is_none());
        assert!(matches!(
            walk.next(),
            Some(Err(ParseError::MessageLength {
                declared: 24,
                available: 20
            }))
        ));
        assert!(walk.next_of_type(MSG_PACKET).is_none());
        assert!(walk.next().is_none());
    }

    #[test]
    fn unpadded_last_message_is_accepted() {
        let mut datagram = message(MSG_PACKET, &[0; 4]);
        let mut last = Vec::new();
        emit_header(&mut last, 17, MSG_PACKET, 0, 0);
        last.push(9);
        datagram.extend(last);
        let bodies: Vec<_> = Messages::new(&datagram)
            .map(|m| m.unwrap().body())
            .collect();
        assert_eq!(bodies, vec![&[0u8; 4][..], &[9u8][..]]);
    }

    #[test]
    fn length_that_lies_is_an_error_then_the_walk_stops() {
        let mut datagram = message(MSG_PACKET, &[0; 4]);
        datagram[0..4].copy_from_slice(&400u32.to_ne_bytes());
        let got: Vec<_> = Messages::new(&datagram).collect();
        assert_eq!(
            got,
            vec![Err(ParseError::MessageLength {
                declared: 400,
                available: 20
            })]
        );
    }

    #[test]
    fn length_under_the_header_is_an_error() {
        let mut datagram = message(MSG_PACKET, &[0; 4]);
        datagram[0..4].copy_from_slice(&8u32.to_ne_bytes());
        assert_eq!(
            Message::new_checked(&datagram),
            Err(ParseError::MessageLength {
                declared: 8,
                available: 20
            })
        );
    }

    #[test]
    fn truncated_header_is_an_error() {
        let datagram = message(MSG_PACKET, &[]);
        for cut in 0..NLMSG_HDRLEN {
            assert_eq!(
                Message::new_checked(&datagram[..cut]),
                Err(ParseError::Truncated {
                    what: Header::NetlinkMessage,
                    needed: 16,
                    available: cut
                })
            );
        }
    }

    #[test]
    fn error_message_carries_a_positive_errno() {
        let mut body = (-1i32).to_ne_bytes().to_vec();
        body.extend_from_slice(&[0; 16]);
        let bytes = message(NLMSG_ERROR, &body);
        assert_eq!(
            Message::new_checked(&bytes).unwrap().error_code(),
            Ok(Some(1))
        );
        let ack = message(NLMSG_ERROR, &[0; 20]);
        assert_eq!(
            Message::new_checked(&ack).unwrap().error_code(),
            Ok(Some(0))
        );
        let short = message(NLMSG_ERROR, &[0; 2]);
        assert!(Message::new_checked(&short[..18])
            .unwrap()
            .error_code()
            .is_err());
        let packet = message(MSG_PACKET, &[0; 4]);
        assert_eq!(
            Message::new_checked(&packet).unwrap().error_code(),
            Ok(None)
        );
    }
}
