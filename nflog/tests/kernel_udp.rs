//! UDP over IPv4 and IPv6 on loopback, logged with a prefix and a mark, received through
//! the listener, in a private network namespace.

mod support;

use std::time::Duration;

use nflog::{Family, Hook, Listener};
use support::{collect, in_netns, nft, privileged, send_udp};

#[test]
fn udp_over_ipv4_and_ipv6_with_prefix_and_mark() {
    if !privileged("udp_over_ipv4_and_ipv6_with_prefix_and_mark") {
        return;
    }
    in_netns(|| {
        let mut listener = Listener::bind(7).unwrap();
        nft(r#"
            table inet t {
                chain out {
                    type filter hook output priority 0;
                    udp dport 5001 meta mark set 0x2a log prefix "udp-out" group 7
                }
            }
        "#);
        send_udp("127.0.0.1:5001", b"hello v4", 1);
        send_udp("[::1]:5001", b"hello v6", 1);
        let got = collect(&mut listener, 2, Duration::from_secs(5));
        assert_eq!(got.len(), 2, "both packets arrive");

        let v4 = got[0].view();
        assert_eq!(v4.family(), Family::Ipv4);
        assert_eq!(v4.group(), 7);
        assert_eq!(v4.hook(), Hook::Output);
        assert_eq!(v4.hw_protocol(), 0x0800);
        assert_eq!(v4.prefix().as_deref(), Some("udp-out"));
        assert_eq!(v4.mark(), Some(0x2a));
        let payload = v4.payload().unwrap();
        assert_eq!(payload.len(), 20 + 8 + 8);
        assert_eq!(payload[0] >> 4, 4);
        assert_eq!(&payload[28..], b"hello v4");

        let v6 = got[1].view();
        assert_eq!(v6.family(), Family::Ipv6);
        assert_eq!(v6.hw_protocol(), 0x86dd);
        assert_eq!(v6.hook(), Hook::Output);
        assert_eq!(v6.prefix().as_deref(), Some("udp-out"));
        assert_eq!(v6.mark(), Some(0x2a));
        let payload = v6.payload().unwrap();
        assert_eq!(payload[0] >> 4, 6);
        assert_eq!(&payload[48..], b"hello v6");
    });
}
