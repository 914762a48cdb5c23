//! The numbers of the protocols a logged packet carries, and the big-endian reads of their
//! fields: defined once, for the decoder, the formats and the conntrack view.
//!
//! From `include/uapi/linux/in.h` (`IPPROTO_*`), `if_ether.h` (`ETH_P_*`) and `if_arp.h`
//! (`ARPHRD_*`).

/// `ETH_P_IP`: IPv4.
pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
/// `ETH_P_IPV6`: IPv6.
pub(crate) const ETHERTYPE_IPV6: u16 = 0x86dd;
/// `ETH_P_ARP`: ARP.
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
/// `ETH_P_8021Q`: the TPID of an 802.1Q (customer) VLAN tag.
pub(crate) const TPID_8021Q: u16 = 0x8100;
/// `ETH_P_8021AD`: the TPID of an 802.1ad (service, "QinQ") VLAN tag.
pub(crate) const TPID_8021AD: u16 = 0x88a8;

/// `ARPHRD_ETHER`: Ethernet.
pub(crate) const ARPHRD_ETHER: u16 = 1;
/// `ARPHRD_LOOPBACK`: the loopback device.
pub(crate) const ARPHRD_LOOPBACK: u16 = 772;
/// `ARPHRD_VOID`: no hardware type.
pub(crate) const ARPHRD_VOID: u16 = 0xffff;

/// `IPPROTO_ICMP`.
pub(crate) const IPPROTO_ICMP: u8 = 1;
/// `IPPROTO_TCP`.
pub(crate) const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub(crate) const IPPROTO_UDP: u8 = 17;
/// `IPPROTO_ESP`: IPsec encapsulating security payload.
pub(crate) const IPPROTO_ESP: u8 = 50;
/// `IPPROTO_AH`: IPsec authentication header.
pub(crate) const IPPROTO_AH: u8 = 51;
/// `IPPROTO_ICMPV6`.
pub(crate) const IPPROTO_ICMPV6: u8 = 58;
/// `IPPROTO_SCTP`.
pub(crate) const IPPROTO_SCTP: u8 = 132;

/// The two bytes at `at`, big-endian; `None` past the end.
#[inline]
pub(crate) fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(*bytes.get(at..)?.first_chunk()?))
}

/// The four bytes at `at`, big-endian; `None` past the end.
#[inline]
pub(crate) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(*bytes.get(at..)?.first_chunk()?))
}

/// The eight bytes at `at`, big-endian (read bytewise: values in a netlink message are
/// only 4-byte aligned); `None` past the end.
#[inline]
pub(crate) fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(*bytes.get(at..)?.first_chunk()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_reads_stop_at_the_end() {
        let bytes = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(be16(&bytes, 0), Some(0x0102));
        assert_eq!(be16(&bytes, 7), Some(0x0809));
        assert_eq!(be16(&bytes, 8), None);
        assert_eq!(be16(&bytes, usize::MAX), None);
        assert_eq!(be32(&bytes, 5), Some(0x0607_0809));
        assert_eq!(be32(&bytes, 6), None);
        assert_eq!(be64(&bytes, 1), Some(0x0203_0405_0607_0809));
        assert_eq!(be64(&bytes, 2), None);
    }
}
