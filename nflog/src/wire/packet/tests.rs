//! Tests of the packet view on byte fixtures.

use super::*;
use crate::wire::attr::emit;

/// Builds a packet message body: nfgenmsg then the given attributes.
fn body(family: u8, group: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = vec![family, 0];
    out.extend_from_slice(&group.to_be_bytes());
    for (kind, value) in attrs {
        emit(&mut out, *kind, value);
    }
    out
}

#[test]
fn minimal_packet_has_only_the_header() {
    let bytes = body(2, 5, &[(1, &[0x08, 0x00, 1, 0])]);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.family(), Family::Ipv4);
    assert_eq!(p.group(), 5);
    assert_eq!(p.hw_protocol(), 0x0800);
    assert_eq!(p.hook(), Hook::Input);
    assert_eq!(p.mark(), None);
    assert_eq!(p.payload(), None);
    assert_eq!(p.prefix(), None);
}

#[test]
fn missing_packet_header_is_an_error() {
    let bytes = body(2, 5, &[(2, &[0, 0, 0, 1])]);
    assert_eq!(
        Packet::parse(&bytes).unwrap_err(),
        ParseError::MissingAttribute {
            attr: PacketAttr::PacketHdr
        }
    );
}
