//! One datagram's packets, borrowed from the receive buffer.

use crate::error::{Error, ParseError, Request};
use crate::receive::stats::Accounting;
use crate::wire::kind::{MSG_PACKET, NLMSG_DONE, NLMSG_ERROR};
use crate::wire::netlink::Messages;
use crate::wire::packet::Packet;

/// The packets of one datagram, in the order the kernel queued them.
///
/// Yields `Err` for a message that does not parse (and goes on with the next one when the
/// message's own length can be trusted) and for an error message from the kernel.
/// Statistics are updated as packets are yielded; dropping a batch before its end still
/// counts the rest.
#[derive(Debug)]
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

    fn finish(&mut self) {
        self.messages = Messages::new(&[]);
    }
}

impl<'a> Iterator for Batch<'a> {
    type Item = Result<Packet<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let message = match self.messages.next()? {
                Ok(message) => message,
                Err(ParseError::MessageLength { .. } | ParseError::Truncated { .. })
                    if self.truncated =>
                {
                    // The message the buffer cut: already counted as a truncation.
                    self.finish();
                    return None;
                }
                Err(e) => {
                    self.accounting.stats.malformed += 1;
                    return Some(Err(e.into()));
                }
            };
            match message.message_type() {
                MSG_PACKET => {
                    return Some(match Packet::parse(message.body()) {
                        Ok(packet) => {
                            self.accounting.packet(&packet);
                            Ok(packet)
                        }
                        Err(e) => {
                            self.accounting.stats.malformed += 1;
                            Err(e.into())
                        }
                    })
                }
                NLMSG_DONE => {
                    self.finish();
                    return None;
                }
                NLMSG_ERROR => match message.error_code() {
                    Ok(Some(0)) => continue, // a stray acknowledgement
                    Ok(Some(errno)) => {
                        return Some(Err(Error::Kernel {
                            request: Request::Receive,
                            group: None,
                            errno,
                        }))
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        self.accounting.stats.malformed += 1;
                        return Some(Err(e.into()));
                    }
                },
                // NLMSG_NOOP, NLMSG_OVERRUN and types of other subsystems carry no packet.
                _ => continue,
            }
        }
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // Count what the caller did not look at.
        for _ in self.by_ref() {}
    }
}
