#!/bin/bash
# replace.sh [N...]: time `ctmatch apply --replace -f FILE` of an
# iptables-save file of N rules (default: 10000 and 50000; bench/rules.sh's
# MIX=whole, in chain INPUT of table filter) replacing a table of N other
# rules (the same mix with ACCEPT and DROP swapped), against the kernel's
# commit time of the same replacement in the same run (bench/cmd/replace:
# a kernel.Tx of the same flush and rules with group records, the commit
# call alone), in a network namespace of its own, RUNS runs each (default
# 3). The goal: the command at most 1.5 times the commit. Needs root and
# ip; never touches the host's ruleset.
set -euo pipefail
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 50000)
ns=ctmatch-bench-replace-$$
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$ns" 2> /dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
go build -o "$tmp/ctmatch" ./cmd/ctmatch
go build -o "$tmp/replace" ./bench/cmd/replace
printf '# %s, %s; %d runs each\n' "$(uname -r)" "$(nproc) CPUs" "${RUNS:-3}"
for n in "${sizes[@]}"; do
	MIX=whole bash bench/rules.sh "$n" > "$tmp/a"
	sed -e 's/-j ACCEPT$/-j TMP/; s/-j DROP$/-j ACCEPT/; s/-j TMP$/-j DROP/' "$tmp/a" > "$tmp/b"
	ip netns exec "$ns" nft flush ruleset
	"$tmp/replace" -a "$tmp/a" -b "$tmp/b" -ctmatch "$tmp/ctmatch" -netns "/run/netns/$ns" -runs "${RUNS:-3}"
done
