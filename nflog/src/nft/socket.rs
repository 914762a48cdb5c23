//! The nf_tables netlink socket: sends batches, waits for every acknowledgement, reads
//! rules back.
//!
//! A socket of its own, apart from the NFLOG [`Socket`](crate::Socket): a table flagged
//! [`NFT_TABLE_F_OWNER`](crate::nft::NFT_TABLE_F_OWNER) belongs to the socket that made
//! it and goes when that socket closes, so this socket lives as long as the rules it
//! installed, and nothing else reads from it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::namespace::Netns;
use crate::nft::error::NftError;
use crate::nft::expr::Expr;
use crate::nft::msg::{self, Batch, MessageInfo};
use crate::socket::netns::NamespaceFd;
use crate::socket::sys;
use crate::wire::attr::Attributes;
use crate::wire::family::Family;
use crate::wire::kind::{NLMSG_DONE, NLMSG_ERROR};
use crate::wire::netlink::{Message, Messages, NLMSG_HDRLEN};

/// How long a batch or a dump waits for the kernel, in all.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// The receive buffer for answers and dumps; the kernel sizes dump datagrams to it.
const RECV_BUFFER: usize = 64 * 1024;

/// `NLM_F_CAPPED`: the error echoes only the request's header.
const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS`: extended ACK attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: the kernel's message text.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: the offset of the offending attribute in the request.
const NLMSGERR_ATTR_OFFS: u16 = 2;

/// A `NETLINK_NETFILTER` socket for nf_tables, with extended ACKs on.
pub struct NftSocket {
    fd: OwnedFd,
    port_id: u32,
    sequence: u32,
    buf: Vec<u8>,
}

impl NftSocket {
    /// Opens a socket connected to the kernel, with `NETLINK_EXT_ACK` and
    /// `NETLINK_CAP_ACK` on. Needs no privilege (sending batches does).
    ///
    /// # Errors
    ///
    /// [`NftError::Unsupported`] without netlink or nfnetlink; [`NftError::Io`] else.
    pub fn open() -> Result<NftSocket, NftError> {
        let fd = sys::open_netfilter_socket().map_err(|e| match e.raw_os_error() {
            Some(errno @ (libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)) => NftError::Unsupported {
                what: "netlink or nfnetlink (CONFIG_NETFILTER_NETLINK)",
                errno,
                kernel_message: None,
            },
            _ => NftError::io("opening the nf_tables socket", e),
        })?;
        let port_id = sys::bind_and_connect_to_kernel(fd.as_fd())
            .map_err(|e| NftError::io("binding the nf_tables socket", e))?;
        // Extended ACKs exist since Linux 4.12; without them errors lack the kernel's text.
        let _ = sys::set_netlink_flag(fd.as_fd(), sys::NETLINK_EXT_ACK, true);
        let _ = sys::set_netlink_flag(fd.as_fd(), sys::NETLINK_CAP_ACK, true);
        // Sequence numbers start from the clock, as libmnl's users do, so that answers to
        // another process's requests on a reused port id cannot pass for ours.
        let sequence = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() as u32);
        Ok(NftSocket {
            fd,
            port_id,
            sequence,
            buf: vec![0; RECV_BUFFER],
        })
    }

    /// Opens a socket, as [`open`](Self::open) does, in the network namespace `netns`; the
    /// calling thread stays in its own.
    ///
    /// # Errors
    ///
    /// [`NftError::Namespace`] when the namespace cannot be entered; else as
    /// [`open`](Self::open).
    pub fn open_in(netns: &Netns) -> Result<NftSocket, NftError> {
        let namespace = NamespaceFd::open(netns).map_err(|e| NftError::Namespace(Box::new(e)))?;
        namespace
            .run(NftSocket::open)
            .map_err(|e| NftError::Namespace(Box::new(e)))?
    }

    /// The socket's netlink port id: the owner of the tables it creates with the owner flag.
    pub fn port_id(&self) -> u32 {
        self.port_id
    }

    /// A new batch numbered after this socket's last message.
    pub fn batch(&self) -> Batch {
        Batch::new(self.sequence.wrapping_add(1))
    }

    /// Sends `batch` and waits for the kernel's answer to each of its messages.
    ///
    /// The kernel applies the whole batch or none of it: when this returns an error,
    /// nothing of the batch is in place.
    ///
    /// # Errors
    ///
    /// [`NftError::Kernel`] for the first message refused, with the kernel's extended
    /// message; [`NftError::PermissionDenied`] without CAP_NET_ADMIN;
    /// [`NftError::Unsupported`] without nf_tables; [`NftError::Io`] when the kernel does
    /// not answer within 5 seconds.
    pub fn send_batch(&mut self, batch: &mut Batch) -> Result<(), NftError> {
        let messages: Vec<MessageInfo> = batch.messages().to_vec();
        let first = messages
            .first()
            .map_or(batch.next_sequence(), |m| m.sequence)
            .wrapping_sub(1);
        self.sequence = batch.next_sequence();
        let bytes = batch.finish();
        let mut waiting: Vec<u32> = messages.iter().map(|m| m.sequence).collect();
        if waiting.is_empty() {
            return Ok(());
        }
        sys::send(self.fd.as_fd(), bytes)
            .map_err(|e| NftError::io("sending the nf_tables batch", e))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut refused: Option<NftError> = None;
        // The kernel handles a batch inside `send`: every answer is queued by now. After a
        // refusal the kernel may leave later messages unanswered, so an empty queue ends
        // the wait then.
        while !waiting.is_empty() {
            let wait = if refused.is_some() {
                Some(Duration::ZERO)
            } else {
                Some(deadline.saturating_duration_since(Instant::now()))
            };
            let len = match self.recv(wait)? {
                Some(len) => len,
                None if refused.is_some() => break,
                None => {
                    return Err(NftError::io(
                        "waiting for the kernel's answer to the nf_tables batch",
                        io::Error::new(io::ErrorKind::TimedOut, "no answer from nf_tables"),
                    ))
                }
            };
            for message in Messages::new(&self.buf[..len]).map_while(Result::ok) {
                let Some(answer) = Answer::read(&message) else {
                    continue;
                };
                if answer.sequence == first && answer.errno != 0 {
                    // An answer to BATCH_BEGIN: the batch as a whole was refused.
                    return Err(batch_error(answer, None));
                }
                let Some(index) = waiting.iter().position(|s| *s == answer.sequence) else {
                    continue;
                };
                waiting.swap_remove(index);
                if answer.errno != 0 && refused.is_none() {
                    let info = messages
                        .iter()
                        .find(|m| m.sequence == answer.sequence)
                        .cloned();
                    refused = Some(batch_error(answer, info));
                }
            }
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Reads the rules of `table` in `family` back from the kernel: each rule's chain and
    /// expressions, in the order of the chains' rules.
    ///
    /// # Errors
    ///
    /// As [`send_batch`](Self::send_batch), and [`NftError::Decode`] for a rule holding an
    /// expression this crate does not know.
    pub fn rules(
        &mut self,
        family: Family,
        table: &str,
    ) -> Result<Vec<(String, Vec<Expr>)>, NftError> {
        let mut rules = Vec::new();
        self.dump(family, Some(table), |attrs| {
            rules.push(msg::parse_rule(attrs)?);
            Ok(())
        })?;
        Ok(rules)
    }

    /// Whether the table `name` of `family` exists (`NFT_MSG_GETTABLE`).
    ///
    /// # Errors
    ///
    /// As [`send_batch`](Self::send_batch), for errors other than ENOENT.
    pub fn has_table(&mut self, family: Family, name: &str) -> Result<bool, NftError> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut request = Vec::with_capacity(64);
        msg::get_table(&mut request, sequence, family, name);
        sys::send(self.fd.as_fd(), &request)
            .map_err(|e| NftError::io("asking nf_tables for a table", e))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut found = false;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Some(len) = self.recv(Some(wait))? else {
                return Err(NftError::io(
                    "asking nf_tables for a table",
                    io::Error::new(io::ErrorKind::TimedOut, "no answer from nf_tables"),
                ));
            };
            for message in Messages::new(&self.buf[..len]).map_while(Result::ok) {
                if message.sequence() != sequence {
                    continue;
                }
                match Answer::read(&message) {
                    None => found = true,
                    Some(answer) => {
                        return match answer.errno {
                            0 => Ok(found),
                            libc::ENOENT => Ok(false),
                            _ => Err(batch_error(answer, None)),
                        }
                    }
                }
            }
        }
    }

    /// The NFLOG groups the `log` statements of every rule in the socket's network
    /// namespace send to, in all tables of all families.
    ///
    /// # Errors
    ///
    /// As [`rules`](Self::rules).
    pub fn logged_groups(&mut self) -> Result<Vec<u16>, NftError> {
        let mut groups = Vec::new();
        self.dump(Family::Unspec, None, |attrs| {
            groups.extend(msg::log_groups(attrs));
            Ok(())
        })?;
        groups.sort_unstable();
        groups.dedup();
        Ok(groups)
    }

    /// Dumps rules (of one table, or all) and hands each message's attributes to `each`.
    fn dump(
        &mut self,
        family: Family,
        table: Option<&str>,
        mut each: impl FnMut(&[u8]) -> Result<(), NftError>,
    ) -> Result<(), NftError> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut request = Vec::with_capacity(64);
        msg::get_rules(&mut request, sequence, family, table);
        sys::send(self.fd.as_fd(), &request)
            .map_err(|e| NftError::io("asking nf_tables for its rules", e))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Some(len) = self.recv(Some(wait))? else {
                return Err(NftError::io(
                    "reading the rules from nf_tables",
                    io::Error::new(io::ErrorKind::TimedOut, "no answer from nf_tables"),
                ));
            };
            let datagram = self.buf[..len].to_vec();
            for message in Messages::new(&datagram) {
                let message = message.map_err(|e| NftError::Decode(e.into()))?;
                if message.sequence() != sequence {
                    continue;
                }
                match message.message_type() {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        if let Some(answer) = Answer::read(&message) {
                            if answer.errno != 0 {
                                return Err(dump_error(answer));
                            }
                        }
                    }
                    _ => {
                        let body = message.body();
                        each(body.get(4..).unwrap_or(&[]))?;
                    }
                }
            }
        }
    }

    /// Receives one datagram into the buffer; `None` when nothing came within `wait`.
    fn recv(&mut self, wait: Option<Duration>) -> Result<Option<usize>, NftError> {
        let [readable] = sys::wait_readable([self.fd.as_fd()], wait)
            .map_err(|e| NftError::io("waiting for nf_tables", e))?;
        if !readable {
            return Ok(None);
        }
        match sys::recv(self.fd.as_fd(), &mut self.buf, false) {
            Ok(len) if len > self.buf.len() => Err(NftError::io(
                "receiving from nf_tables",
                io::Error::other(format!(
                    "a {len}-byte datagram, more than the {}-byte buffer",
                    self.buf.len()
                )),
            )),
            Ok(len) => Ok(Some(len)),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                Ok(None)
            }
            Err(e) => Err(NftError::io("receiving from nf_tables", e)),
        }
    }
}

/// One `NLMSG_ERROR` answer, with its extended ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) sequence: u32,
    pub(crate) errno: i32,
    pub(crate) message: Option<String>,
    pub(crate) offset: Option<u32>,
}

impl Answer {
    /// Reads an `NLMSG_ERROR` message; `None` for any other (or a cut one).
    pub(crate) fn read(message: &Message<'_>) -> Option<Answer> {
        let errno = message.error_code().ok()??;
        let body = message.body();
        let mut answer = Answer {
            sequence: message.sequence(),
            errno,
            message: None,
            offset: None,
        };
        if message.flags() & NLM_F_ACK_TLVS != 0 {
            // After the error code: the request's header, or all of the request unless the
            // answer is capped (NETLINK_CAP_ACK, and always for a success).
            let echoed = if message.flags() & NLM_F_CAPPED != 0 {
                NLMSG_HDRLEN
            } else {
                body.get(4..8).map_or(NLMSG_HDRLEN, |l| {
                    u32::from_ne_bytes([l[0], l[1], l[2], l[3]]) as usize
                })
            };
            let tlvs = body.get(crate::wire::align4(4 + echoed)..).unwrap_or(&[]);
            for attr in Attributes::new(tlvs).map_while(Result::ok) {
                match attr.kind() {
                    NLMSGERR_ATTR_MSG => {
                        let text = attr.value();
                        let end = text.iter().position(|b| *b == 0).unwrap_or(text.len());
                        answer.message = Some(String::from_utf8_lossy(&text[..end]).into_owned());
                    }
                    NLMSGERR_ATTR_OFFS => {
                        answer.offset = attr
                            .value()
                            .get(..4)
                            .map(|v| u32::from_ne_bytes([v[0], v[1], v[2], v[3]]));
                    }
                    _ => {}
                }
            }
        }
        Some(answer)
    }
}

/// The error for a refused dump.
fn dump_error(answer: Answer) -> NftError {
    match answer.errno {
        // nfnetlink.c, nfnetlink_rcv_msg: a message outside a batch for a subsystem that
        // is not there (nf_tables neither built in nor loaded, and its module could not be)
        // is EINVAL; our dump request is otherwise always valid. Seen on Debian 12's 6.1
        // with module loading off (nflog-cli/tests/no_nftables.rs).
        errno @ libc::EINVAL => NftError::Unsupported {
            what: "nf_tables (CONFIG_NF_TABLES)",
            errno,
            kernel_message: answer.message,
        },
        _ => batch_error(answer, None),
    }
}

/// The error for a refused message (or, without `info`, a refused batch).
fn batch_error(answer: Answer, info: Option<MessageInfo>) -> NftError {
    match answer.errno {
        libc::EPERM => NftError::PermissionDenied,
        // nfnetlink.c: no subsystem for nf_tables (module absent), or a family it lacks.
        errno @ (libc::EOPNOTSUPP | libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT)
            if info.is_none() =>
        {
            NftError::Unsupported {
                what: "nf_tables (CONFIG_NF_TABLES)",
                errno,
                kernel_message: answer.message,
            }
        }
        errno => NftError::Kernel {
            message: info,
            errno,
            kernel_message: answer.message,
            offset: answer.offset,
        },
    }
}

impl core::fmt::Debug for NftSocket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NftSocket")
            .field("fd", &self.fd)
            .field("port_id", &self.port_id)
            .finish_non_exhaustive()
    }
}

impl AsFd for NftSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for NftSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::emit;
    use crate::wire::netlink::emit_header;

    /// An error answer as the kernel builds it with NETLINK_CAP_ACK and NETLINK_EXT_ACK.
    fn capped_error(sequence: u32, errno: i32, text: &str, offset: u32) -> Vec<u8> {
        let mut tlvs = Vec::new();
        let mut msg = text.as_bytes().to_vec();
        msg.push(0);
        emit(&mut tlvs, NLMSGERR_ATTR_MSG, &msg);
        emit(&mut tlvs, NLMSGERR_ATTR_OFFS, &offset.to_ne_bytes());
        let mut body = (-errno).to_ne_bytes().to_vec();
        emit_header(&mut body, 60, 0x0a03, 0x0405, sequence);
        body.extend_from_slice(&tlvs);
        let mut out = Vec::new();
        crate::wire::emit_message(
            &mut out,
            NLMSG_ERROR,
            NLM_F_CAPPED | NLM_F_ACK_TLVS,
            sequence,
            &body,
        );
        out
    }

    #[test]
    fn an_extended_ack_gives_the_kernels_message_and_offset() {
        let bytes = capped_error(9, libc::ENOENT, "No such device", 40);
        let message = Message::new_checked(&bytes).unwrap();
        assert_eq!(
            Answer::read(&message),
            Some(Answer {
                sequence: 9,
                errno: libc::ENOENT,
                message: Some("No such device".into()),
                offset: Some(40),
            })
        );
    }

    #[test]
    fn a_refusal_names_the_message_and_quotes_the_kernel() {
        let info = MessageInfo {
            kind: crate::nft::MsgType::NewChain,
            family: Family::Netdev,
            object: "nflog-1-5 ingress".into(),
            sequence: 3,
        };
        let e = batch_error(
            Answer {
                sequence: 3,
                errno: libc::ENOENT,
                message: Some("hook device not found".into()),
                offset: Some(52),
            },
            Some(info),
        );
        assert_eq!(
            e.to_string(),
            "the kernel refused NEWCHAIN netdev nflog-1-5 ingress: No such file or directory \
             (os error 2) (hook device not found) at byte 52 of the message"
        );
        let e = batch_error(
            Answer {
                sequence: 1,
                errno: libc::EPERM,
                message: None,
                offset: None,
            },
            None,
        );
        assert!(matches!(e, NftError::PermissionDenied));
        assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
    }
}
