//! A pcap or pcapng file, in either byte order: read every record, and parse and exercise
//! the NFLOG ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nflog::pcap::{CaptureReader, LinkType, ReadError};
use nflog::Packet;

fuzz_target!(|file: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(file) else {
        return;
    };
    let _ = reader.link_type();
    // Every record, damaged or not, takes at least 12 bytes of the file, so the loop ends; the bound is a
    // second guard against a reader that stops advancing.
    for _ in 0..=file.len() {
        match reader.next_record() {
            Ok(Some(record)) => {
                let _ = (record.interface, record.time, record.orig_len);
                if record.link_type == LinkType::Nflog {
                    if let Ok(packet) = Packet::parse(record.data) {
                        nflog_fuzz::exercise_packet(&packet);
                    }
                }
            }
            Ok(None) => return,
            // Only that record is damaged: the reader has moved past it.
            Err(e @ ReadError::DamagedRecord { .. }) => {
                let _ = e.to_string();
            }
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    }
    panic!("the reader yielded more records than the file has bytes");
});
