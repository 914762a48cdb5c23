#!/bin/bash
# Captures fresh NFLOG traffic for the seed corpora, in a private network namespace:
#   cargo build --release -p nflog-cli   (from the repository root)
#   unshare -n bash fuzz/seeds/capture/capture.sh /tmp/capture
# writes /tmp/capture/x.pcap (tcpdump -i nflog:21) and /tmp/capture/y.pcapng (nflog -g 22,23
# --seq; group 23 with snaplen 40); then `python3 fuzz/seeds/capture/make_seeds.py
# /tmp/capture` turns them (and the library's fixtures) into fuzz/seeds/<target>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:?usage: capture.sh OUTDIR}
mkdir -p "$out"
cd "$out"
rm -f x.pcap y.pcapng
ip link set lo up
nft -f "$here/rules.nft"
tcpdump -i nflog:21 -w x.pcap -U 2>tcpdump.err &
td=$!
"$root/target/release/nflog" -g 22,23 --seq -w y.pcapng 2>nflog.err &
nf=$!
sleep 1.5
python3 "$here/traffic.py"
sleep 1
kill -INT "$td" "$nf"
wait "$td" "$nf" || true
cat tcpdump.err nflog.err
