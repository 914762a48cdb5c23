"""Writes the seed corpora of the fuzz targets, fuzz/seeds/<target>/, from real captures:

- a fresh capture made by capture.sh (x.pcap from tcpdump, y.pcapng from nflog), in the
  directory given as the only argument;
- the datagrams ulogd2 received, nflog/tests/fixtures/ulogd/datagrams-group{5,6}.hex;
- the static fixtures captured from the kernel in nflog/src/wire/packet/tests.rs,
  nflog/src/decode/link.rs and nflog/src/conntrack/tests.rs (NFULA_CT values, wrapped here
  in a packet message).

Usage (from the repository root): python3 fuzz/seeds/capture/make_seeds.py /tmp/capture

Assumes a little-endian host, as the captures and fixtures are (x86_64).
"""

import os
import re
import shutil
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
TARGETS = ["packet", "datagram", "capture_file", "decode"]

NFULA_PACKET_HDR, NFULA_PAYLOAD, NFULA_PREFIX, NFULA_CT, NFULA_CT_INFO = 1, 9, 10, 18, 19
MSG_PACKET, NLMSG_DONE = 0x0400, 3


def align4(n):
    return (n + 3) & ~3


def attr(kind, value):
    return struct.pack("<HH", 4 + len(value), kind) + value + b"\0" * (align4(len(value)) - len(value))


def attrs(body):
    """(kind, value) of each top-level attribute of a packet body (host = little-endian)."""
    at, out = 4, []
    while at + 4 <= len(body):
        length, kind = struct.unpack_from("<HH", body, at)
        if length < 4 or at + length > len(body):
            break
        out.append((kind & 0x3FFF, body[at + 4 : at + length]))
        at += align4(length)
    return out


def message(body, mtype=MSG_PACKET, seq=0):
    raw = struct.pack("<IHHII", 16 + len(body), mtype, 0, seq, 0) + body
    return raw + b"\0" * (align4(len(raw)) - len(raw))


def static_fixtures():
    out = {}
    for rel in ["wire/packet/tests.rs", "decode/link.rs", "conntrack/tests.rs"]:
        src = open(os.path.join(ROOT, "nflog", "src", rel)).read()
        for m in re.finditer(r"static ([A-Z_0-9]+): \[u8; (\d+)\] = \[(.*?)\];", src, re.S):
            body = re.sub(r"//[^\n]*", "", m.group(3))
            values = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]{2}", body))
            assert len(values) == int(m.group(2)), m.group(1)
            out[(rel, m.group(1).lower())] = values
    return out


def pcap_records(data):
    magic, = struct.unpack_from("<I", data, 0)
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "a little-endian pcap"
    at, out = 24, []
    while at + 16 <= len(data):
        caplen, = struct.unpack_from("<I", data, at + 8)
        out.append((data[at : at + 16 + caplen], data[at + 16 : at + 16 + caplen]))
        at += 16 + caplen
    return data[:24], out


def pcapng_blocks(data):
    at, out = 0, []
    while at + 8 <= len(data):
        btype, total = struct.unpack_from("<II", data, at)
        out.append((btype, data[at : at + total]))
        at += total
    return out


def swap_pcap(header, records):
    """The same pcap as a big-endian host writes it: header fields and NFLOG TLV headers
    swapped (NFLOG values are big-endian on every host)."""
    magic, major, minor, zone, sigfigs, snaplen, link = struct.unpack("<IHHiIII", header)
    out = bytearray(struct.pack(">IHHiIII", magic, major, minor, zone, sigfigs, snaplen, link))
    for raw, body in records:
        out += struct.pack(">IIII", *struct.unpack_from("<IIII", raw, 0))
        body = bytearray(body)
        at = 4
        while at + 4 <= len(body):
            length, kind = struct.unpack_from("<HH", body, at)
            struct.pack_into(">HH", body, at, length, kind)
            if length < 4:
                break
            at += align4(length)
        out += body
    return bytes(out)


def signature(body):
    """What makes a record worth a seed of its own: group, family, hook, protocol, cut."""
    a = dict(attrs(body))
    hdr = a.get(NFULA_PACKET_HDR, b"\0" * 4)
    payload = a.get(NFULA_PAYLOAD, b"")
    proto = None
    if payload[:1] and payload[0] >> 4 == 4 and len(payload) > 9:
        proto = payload[9]
    elif payload[:1] and payload[0] >> 4 == 6 and len(payload) > 6:
        proto = payload[6]
    return (body[0], body[2:4], hdr[2], proto, len(payload) < 40)


def main():
    capture = sys.argv[1]
    for target in TARGETS:
        shutil.rmtree(os.path.join(SEEDS, target), ignore_errors=True)
        os.makedirs(os.path.join(SEEDS, target))

    def put(target, name, data):
        with open(os.path.join(SEEDS, target, name), "wb") as f:
            f.write(data)

    bodies = {}  # name -> packet body

    # 1. The fresh capture.
    header, records = pcap_records(open(os.path.join(capture, "x.pcap"), "rb").read())
    blocks = pcapng_blocks(open(os.path.join(capture, "y.pcapng"), "rb").read())
    seen = set()
    for i, (_, body) in enumerate(records):
        if signature(body) not in seen:
            seen.add(signature(body))
            bodies["tcpdump-%02d" % i] = body
    epbs = [b for t, b in blocks if t == 6]
    for i, block in enumerate(epbs):
        caplen, = struct.unpack_from("<I", block, 20)
        body = block[28 : 28 + caplen]
        if signature(body) not in seen:
            seen.add(signature(body))
            bodies["nflog-%02d" % i] = body
    # Capture files, cut to a few KB: the first records, and the pcapng's closing blocks.
    put("capture_file", "tcpdump-le.pcap", header + b"".join(r for r, _ in records[:10]))
    put("capture_file", "tcpdump-be.pcap", swap_pcap(header, records[:10]))
    head = [b for t, b in blocks if t in (0x0A0D0D0A, 1)]
    tail = [b for t, b in blocks if t not in (0x0A0D0D0A, 1, 6)]
    put("capture_file", "nflog.pcapng", b"".join(head + epbs[:10] + tail))

    # 2. The static fixtures of the library's tests.
    fixtures = static_fixtures()
    for (rel, name), data in fixtures.items():
        if rel == "conntrack/tests.rs":
            # An NFULA_CT value: wrap it as the kernel sends it, with an IPv4 TCP packet
            # header, CT_INFO established, and the payload of the ulogd TCP SYN.
            body = (
                bytes([2, 0, 0, 5])
                + attr(NFULA_PACKET_HDR, bytes([0x08, 0x00, 1, 0]))
                + attr(NFULA_PREFIX, b"ct\0")
                + attr(NFULA_CT | 0x8000, data)
                + attr(NFULA_CT_INFO, struct.pack(">I", 0))
            )
            bodies["ct-" + name] = body
        else:
            bodies["fixture-" + name] = data

    # 3. ulogd2's datagrams: whole datagrams, and the packet messages in them.
    for group in (5, 6):
        path = os.path.join(ROOT, "nflog", "tests", "fixtures", "ulogd", "datagrams-group%d.hex" % group)
        for line_no, line in enumerate(open(path).read().split(), 1):
            datagram = bytes.fromhex(line)
            put("datagram", "ulogd-group%d-%d" % (group, line_no), datagram)
            at, k = 0, 0
            while at + 16 <= len(datagram):
                length, mtype = struct.unpack_from("<IH", datagram, at)
                if length < 16:
                    break
                if mtype == MSG_PACKET and group == 5:
                    bodies["ulogd-g5-%d-%d" % (line_no, k)] = datagram[at + 16 : at + length]
                    k += 1
                at += align4(length)

    # Datagrams made of the capture, as the kernel batches them: packets, then NLMSG_DONE.
    captured = [b for n, b in sorted(bodies.items()) if n.startswith(("tcpdump", "nflog"))]
    for i in range(0, len(captured), 3):
        chunk = captured[i : i + 3]
        datagram = b"".join(message(b, seq=i + j) for j, b in enumerate(chunk))
        put("datagram", "capture-%02d" % i, datagram + message(b"\0" * 4, NLMSG_DONE))
    ct = [b for n, b in sorted(bodies.items()) if n.startswith("ct-")]
    put("datagram", "conntrack", b"".join(message(b) for b in ct) + message(b"\0" * 4, NLMSG_DONE))

    # Every body seeds `packet`; every payload seeds `decode`, after hw_protocol and family.
    for name, body in sorted(bodies.items()):
        put("packet", name, body)
        a = dict(attrs(body))
        if NFULA_PAYLOAD in a and NFULA_PACKET_HDR in a:
            put("decode", name, a[NFULA_PACKET_HDR][:2] + body[:1] + a[NFULA_PAYLOAD])

    for target in TARGETS:
        names = os.listdir(os.path.join(SEEDS, target))
        size = sum(os.path.getsize(os.path.join(SEEDS, target, n)) for n in names)
        print("%-12s %3d files, %6d bytes" % (target, len(names), size))


if __name__ == "__main__":
    main()
