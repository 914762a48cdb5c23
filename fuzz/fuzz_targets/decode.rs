//! The header decoder alone: bytes 0-1 are the EtherType (`hw_protocol`, big-endian), byte
//! 2 the family, the rest the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nflog::decode::decode_payload;
use nflog::Family;

fuzz_target!(|data: &[u8]| {
    let [p0, p1, family, payload @ ..] = data else {
        return;
    };
    let hw_protocol = u16::from_be_bytes([*p0, *p1]);
    let decoded = decode_payload(hw_protocol, Family::from_number(*family), payload);
    let _ = format!("{decoded:?}");
});
