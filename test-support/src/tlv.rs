//! Netlink attributes built in either byte order, independently of the library's own
//! emitters and byte swapping, for tests of captures written on a host of the other order.

/// An attribute of a record: a value, or a nest of attributes.
#[derive(Debug, Clone)]
pub enum Tlv {
    /// A value, big-endian or raw as the kernel sends it, under its type.
    Leaf(u16, Vec<u8>),
    /// A nest: its type (with the flag bits the kernel sets) and its members.
    Nest(u16, Vec<Tlv>),
}

/// Appends `tlvs` to `out` with their headers in this host's byte order, or in the other one
/// (`foreign`), each attribute padded to 4 bytes.
pub fn encode_tlvs(out: &mut Vec<u8>, tlvs: &[Tlv], foreign: bool) {
    let order = |v: u16| if foreign { v.swap_bytes() } else { v };
    for tlv in tlvs {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        let kind = match tlv {
            Tlv::Leaf(kind, value) => {
                out.extend_from_slice(value);
                *kind
            }
            Tlv::Nest(kind, members) => {
                encode_tlvs(out, members, foreign);
                *kind
            }
        };
        let len = (out.len() - at) as u16;
        out[at..at + 2].copy_from_slice(&order(len).to_ne_bytes());
        out[at + 2..at + 4].copy_from_slice(&order(kind).to_ne_bytes());
        out.resize((out.len() + 3) & !3, 0);
    }
}
