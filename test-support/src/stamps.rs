//! Kernel timestamps of logged packets, which kernels before 6.6 add only to timed packets.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

/// Whether this kernel stamps every packet it logs at PREROUTING, INPUT, FORWARD and
/// ingress: Linux 6.6 on ("netfilter: nfnetlink_log: always add a timestamp"). Before it
/// (Debian 12's 6.1) nfnetlink_log stamps a packet only when `skb_tstamp_cond(skb, false)`
/// gives a time: the packet was timed on arrival, or some socket on the machine asked for
/// receive timestamps.
pub fn kernel_always_stamps() -> bool {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let major = numbers.next().unwrap_or(0);
    let minor = numbers.next().unwrap_or(0);
    (major, minor) >= (6, 6)
}

/// On kernels before 6.6, a socket that asks for receive timestamps (`SO_TIMESTAMP`): while
/// it is open the kernel times every packet it receives (`net_enable_timestamp`), so logged
/// packets carry `NFULA_TIMESTAMP` as on later kernels. `None` from 6.6 on, where the
/// kernel stamps without being asked and tests prove that it does. Keep it for the test.
pub fn time_received_packets() -> Option<UdpSocket> {
    if kernel_always_stamps() {
        return None;
    }
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor, and a c_int option value of the length given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMP,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_TIMESTAMP: {}", std::io::Error::last_os_error());
    // The first such socket turns timing on through a work item (`netstamp_work`), not at
    // once: give it time to run before the test's packets arrive.
    std::thread::sleep(std::time::Duration::from_millis(100));
    Some(socket)
}
