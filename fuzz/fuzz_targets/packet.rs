//! One packet message body (nfgenmsg and attributes, a LINKTYPE_NFLOG record): parse it,
//! then every accessor, the conntrack entry, the decoder and each output format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nflog::Packet;

fuzz_target!(|body: &[u8]| {
    if let Ok(packet) = Packet::parse(body) {
        nflog_fuzz::exercise_packet(&packet);
    }
});
