#!/bin/bash
# sync.sh [N...]: time firewall.Sync of a table of N rules (default: 1000,
# 10000 and 50000; bench/rules.sh's mix, all in chain INPUT) against the
# kernel's commit time for the same rules in the same run (bench/cmd/sync:
# a kernel.Tx of the same rules and group records, the commit call alone),
# in a network namespace of its own, RUNS runs each (default 3): Sync into
# the missing table, Sync of the same state (which must send nothing), Sync
# with one rule changed (one transaction). Needs root and ip; never touches
# the host's ruleset.
set -euo pipefail
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000)
ns=ctmatch-bench-sync-$$
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$ns" 2> /dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
go build -o "$tmp/sync" ./bench/cmd/sync
printf '# %s, %s; %d runs each\n' "$(uname -r)" "$(nproc) CPUs" "${RUNS:-3}"
for n in "${sizes[@]}"; do
	bash bench/rules.sh "$n" > "$tmp/rules"
	"$tmp/sync" -f "$tmp/rules" -netns "/run/netns/$ns" -runs "${RUNS:-3}"
done
