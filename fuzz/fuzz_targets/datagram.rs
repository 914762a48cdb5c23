//! A whole netlink datagram as the kernel sends it: walk its messages, then parse each
//! packet message as `Batch` does (stop at NLMSG_DONE, read NLMSG_ERROR's code, skip other
//! types) and exercise every packet that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nflog::wire::{Messages, NLMSG_DONE, NLMSG_ERROR};
use nflog::Packet;

fuzz_target!(|datagram: &[u8]| {
    for message in Messages::new(datagram) {
        let Ok(message) = message else {
            // The walk stops after an error: nothing left to trust.
            break;
        };
        let _ = (
            message.len(),
            message.flags(),
            message.sequence(),
            message.port_id(),
        );
        let _ = message.as_bytes();
        match message.message_type() {
            NLMSG_DONE => break,
            NLMSG_ERROR => {
                let _ = message.error_code();
            }
            _ => {
                if let Ok(packet) = Packet::from_message(message) {
                    nflog_fuzz::exercise_packet(&packet);
                }
            }
        }
    }
});
