//! The configuration message (`NFULNL_MSG_CONFIG`): one optional command plus settings.
//!
//! The kernel runs the command first, then applies the settings in the same message
//! (nfnetlink_log.c: `nfulnl_recv_config`), whatever their order.

use crate::wire::attr::{align4, emit};
use crate::wire::kind::{cfg, MSG_CONFIG, NLM_F_ACK, NLM_F_REQUEST};
use crate::wire::netlink::{emit_header, NLMSG_HDRLEN};
use crate::wire::packet::NFGENMSG_LEN;

/// A configuration request for one group, as it goes on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigMessage {
    /// The protocol family in `nfgenmsg`: `AF_UNSPEC` (0) except for PF_BIND / PF_UNBIND.
    pub family: u8,
    /// The group (`nfgenmsg.res_id`); 0 for PF_BIND / PF_UNBIND.
    pub group: u16,
    /// `NFULA_CFG_CMD`.
    pub command: Option<u8>,
    /// `NFULA_CFG_MODE`: copy range and copy mode.
    pub mode: Option<(u32, u8)>,
    /// `NFULA_CFG_NLBUFSIZ`.
    pub nlbufsiz: Option<u32>,
    /// `NFULA_CFG_TIMEOUT`, in hundredths of a second.
    pub timeout: Option<u32>,
    /// `NFULA_CFG_QTHRESH`.
    pub qthresh: Option<u32>,
    /// `NFULA_CFG_FLAGS`.
    pub flags: Option<u16>,
}

impl ConfigMessage {
    /// Appends the whole netlink message, header included, to `out`, asking for an ACK.
    pub fn emit(&self, sequence: u32, out: &mut Vec<u8>) {
        let start = out.len();
        emit_header(out, 0, MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, sequence);
        out.push(self.family);
        out.push(0); // NFNETLINK_V0
        out.extend_from_slice(&self.group.to_be_bytes());
        if let Some(command) = self.command {
            emit(out, cfg::CMD, &[command]);
        }
        if let Some((range, mode)) = self.mode {
            // struct nfulnl_msg_config_mode is packed: be32 copy_range, u8 copy_mode, u8 pad.
            let mut value = [0u8; 6];
            value[..4].copy_from_slice(&range.to_be_bytes());
            value[4] = mode;
            emit(out, cfg::MODE, &value);
        }
        if let Some(v) = self.nlbufsiz {
            emit(out, cfg::NLBUFSIZ, &v.to_be_bytes());
        }
        if let Some(v) = self.timeout {
            emit(out, cfg::TIMEOUT, &v.to_be_bytes());
        }
        if let Some(v) = self.qthresh {
            emit(out, cfg::QTHRESH, &v.to_be_bytes());
        }
        if let Some(v) = self.flags {
            emit(out, cfg::FLAGS, &v.to_be_bytes());
        }
        let len = (out.len() - start) as u32;
        out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
        debug_assert_eq!(align4(len as usize), len as usize);
        debug_assert!(len as usize >= NLMSG_HDRLEN + NFGENMSG_LEN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::Attributes;
    use crate::wire::netlink::Message;

    #[test]
    fn bind_with_settings_is_byte_exact() {
        let msg = ConfigMessage {
            family: 0,
            group: 0x0105,
            command: Some(cfg::CMD_BIND),
            mode: Some((0x0102_0304, 2)),
            nlbufsiz: Some(65024),
            timeout: Some(10),
            qthresh: Some(100),
            flags: Some(0x0003),
        };
        let mut out = Vec::new();
        msg.emit(42, &mut out);
        let mut expected = Vec::new();
        let len: u32 = 16 + 4 + 8 + 12 + 8 + 8 + 8 + 8;
        expected.extend_from_slice(&len.to_ne_bytes());
        expected.extend_from_slice(&0x0401u16.to_ne_bytes());
        expected.extend_from_slice(&5u16.to_ne_bytes()); // REQUEST | ACK
        expected.extend_from_slice(&42u32.to_ne_bytes());
        expected.extend_from_slice(&0u32.to_ne_bytes());
        expected.extend_from_slice(&[0, 0, 0x01, 0x05]); // AF_UNSPEC, v0, be16 group
        let mut attr = |len: u16, kind: u16, value: &[u8]| {
            expected.extend_from_slice(&len.to_ne_bytes());
            expected.extend_from_slice(&kind.to_ne_bytes());
            expected.extend_from_slice(value);
        };
        attr(5, 1, &[1, 0, 0, 0]);
        attr(10, 2, &[1, 2, 3, 4, 2, 0, 0, 0]);
        attr(8, 3, &65024u32.to_be_bytes());
        attr(8, 4, &10u32.to_be_bytes());
        attr(8, 5, &100u32.to_be_bytes());
        attr(6, 6, &[0, 3, 0, 0]);
        assert_eq!(out, expected);
    }

    #[test]
    fn emitted_message_parses_back() {
        let msg = ConfigMessage {
            group: 7,
            command: Some(cfg::CMD_UNBIND),
            ..Default::default()
        };
        let mut out = vec![0xee]; // emitting appends after what is there
        msg.emit(1, &mut out);
        let m = Message::new_checked(&out[1..]).unwrap();
        assert_eq!(m.len(), out.len() - 1);
        assert_eq!(m.message_type(), MSG_CONFIG);
        assert_eq!(&m.body()[..4], &[0, 0, 0, 7]);
        let attrs: Vec<_> = Attributes::new(&m.body()[4..])
            .map(Result::unwrap)
            .map(|a| (a.kind(), a.value().to_vec()))
            .collect();
        assert_eq!(attrs, vec![(cfg::CMD, vec![cfg::CMD_UNBIND])]);
    }
}
