//! Numbers of the nfnetlink_log protocol: message types, attribute types, families, hooks.
//!
//! From `include/uapi/linux/netfilter/nfnetlink_log.h` and `nfnetlink.h`.

use core::fmt;

/// `NFNL_SUBSYS_ULOG`: the nfnetlink subsystem of nfnetlink_log.
pub const NFNL_SUBSYS_ULOG: u8 = 4;
/// `nlmsg_type` of a packet message: `NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET`.
pub const MSG_PACKET: u16 = (NFNL_SUBSYS_ULOG as u16) << 8;
/// `nlmsg_type` of a configuration message: `NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG`.
pub const MSG_CONFIG: u16 = MSG_PACKET | 1;

/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an error or, with errno 0, an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: closes a datagram of several messages.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;

macro_rules! packet_attrs {
    ($($(#[$doc:meta])* $name:ident = $num:literal, $c:literal;)*) => {
        /// A packet attribute type (`NFULA_*`), as the kernel numbers it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum PacketAttr {
            $($(#[$doc])* $name = $num,)*
        }

        impl PacketAttr {
            /// Every attribute type this crate knows, in numeric order.
            pub const ALL: &'static [PacketAttr] = &[$(PacketAttr::$name,)*];

            /// The attribute with this number, if this crate knows it.
            pub const fn from_number(number: u16) -> Option<PacketAttr> {
                match number {
                    $($num => Some(PacketAttr::$name),)*
                    _ => None,
                }
            }

            /// The kernel's name for it, such as `NFULA_MARK`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(PacketAttr::$name => $c,)*
                }
            }
        }
    };
}

packet_attrs! {
    /// `{ be16 hw_protocol; u8 hook; u8 pad }`, always present.
    PacketHdr = 1, "NFULA_PACKET_HDR";
    /// The packet mark, be32, present when non-zero.
    Mark = 2, "NFULA_MARK";
    /// `{ be64 sec; be64 usec }`.
    Timestamp = 3, "NFULA_TIMESTAMP";
    /// Input interface index, be32.
    IfindexIndev = 4, "NFULA_IFINDEX_INDEV";
    /// Output interface index, be32.
    IfindexOutdev = 5, "NFULA_IFINDEX_OUTDEV";
    /// Physical input interface index (bridge), be32.
    IfindexPhysindev = 6, "NFULA_IFINDEX_PHYSINDEV";
    /// Physical output interface index (bridge), be32.
    IfindexPhysoutdev = 7, "NFULA_IFINDEX_PHYSOUTDEV";
    /// `{ be16 hw_addrlen; u16 pad; u8 hw_addr[8] }`.
    Hwaddr = 8, "NFULA_HWADDR";
    /// The packet from its network header, cut to the copy range.
    Payload = 9, "NFULA_PAYLOAD";
    /// The rule's log prefix, NUL-terminated.
    Prefix = 10, "NFULA_PREFIX";
    /// The owning socket's user id, be32.
    Uid = 11, "NFULA_UID";
    /// The instance's sequence number, be32.
    Seq = 12, "NFULA_SEQ";
    /// The network namespace's sequence number, be32.
    SeqGlobal = 13, "NFULA_SEQ_GLOBAL";
    /// The owning socket's group id, be32.
    Gid = 14, "NFULA_GID";
    /// The device's hardware type (`ARPHRD_*`), be16.
    Hwtype = 15, "NFULA_HWTYPE";
    /// The MAC header, raw.
    Hwheader = 16, "NFULA_HWHEADER";
    /// The MAC header's length, be16.
    Hwlen = 17, "NFULA_HWLEN";
    /// Conntrack entry, nested ctnetlink `CTA_*` attributes.
    Ct = 18, "NFULA_CT";
    /// Conntrack info (`enum ip_conntrack_info`), be32.
    CtInfo = 19, "NFULA_CT_INFO";
    /// VLAN tag, nested: 1 = proto, 2 = TCI.
    Vlan = 20, "NFULA_VLAN";
    /// The layer 2 header, raw (bridge and netdev families).
    L2hdr = 21, "NFULA_L2HDR";
}

impl fmt::Display for PacketAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), *self as u16)
    }
}

/// Nested in `NFULA_VLAN`: `NFULA_VLAN_PROTO`, be16.
pub const NFULA_VLAN_PROTO: u16 = 1;
/// Nested in `NFULA_VLAN`: `NFULA_VLAN_TCI`, be16.
pub const NFULA_VLAN_TCI: u16 = 2;

/// Configuration attribute types (`NFULA_CFG_*`).
pub mod cfg {
    /// `{ u8 command }`.
    pub const CMD: u16 = 1;
    /// `{ be32 copy_range; u8 copy_mode; u8 pad }`.
    pub const MODE: u16 = 2;
    /// be32 bytes.
    pub const NLBUFSIZ: u16 = 3;
    /// be32 hundredths of a second.
    pub const TIMEOUT: u16 = 4;
    /// be32 packets.
    pub const QTHRESH: u16 = 5;
    /// be16 flag bits.
    pub const FLAGS: u16 = 6;

    /// `NFULNL_CFG_CMD_BIND`.
    pub const CMD_BIND: u8 = 1;
    /// `NFULNL_CFG_CMD_UNBIND`.
    pub const CMD_UNBIND: u8 = 2;
    /// `NFULNL_CFG_CMD_PF_BIND`.
    pub const CMD_PF_BIND: u8 = 3;
    /// `NFULNL_CFG_CMD_PF_UNBIND`.
    pub const CMD_PF_UNBIND: u8 = 4;
}
