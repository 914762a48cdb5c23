# Traffic for fuzz/seeds/capture/capture.sh, to 127.0.0.1 and ::1 only (a private namespace).
import socket, struct, time, threading
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
# UDP over IPv4 and IPv6 (nobody listens: ICMP port unreachable comes back)
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.sendto(b"hello fuzz", (addr, 5353)); s.close()
time.sleep(0.2)
# TCP SYN to a closed port (RST back), IPv4 and IPv6
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    t = socket.socket(fam, socket.SOCK_STREAM)
    try: t.connect((addr, 5555))
    except OSError: pass
    t.close()
time.sleep(0.2)
# A short TCP exchange with data, IPv4 and IPv6
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    srv = socket.socket(fam, socket.SOCK_STREAM); srv.bind((addr, 8080)); srv.listen(1)
    def serve():
        c, _ = srv.accept(); c.sendall(c.recv(100).upper()); c.close()
    th = threading.Thread(target=serve); th.start()
    c = socket.socket(fam, socket.SOCK_STREAM); c.connect((addr, 8080)); c.sendall(b"GET /\r\n"); c.recv(100); c.close()
    th.join(); srv.close()
time.sleep(0.2)
# ICMP echo, ICMPv6 echo (the kernel answers both)
h = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"pingdata"; h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.sendto(h, ("127.0.0.1", 0)); r.close()
r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
r6.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4321, 1) + b"ping6", ("::1", 0)); r6.close()
time.sleep(0.5)
