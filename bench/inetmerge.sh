#!/bin/bash
# inetmerge.sh CORPUS_DIR: what the inet merge saves on a corpus's paired
# iptables-save files (NAME.rules with NAME6.rules). Builds ctmatch from this
# tree and runs `ctmatch translate --keep-going -f NAME.rules --file6
# NAME6.rules --family inet` on each pair; prints a Markdown table of the nft
# rules in (the ip and ip6 tables' rules) and out (the inet tables'), and of
# those out that serve both families. As root, nft -c -f checks each merged
# script in a network namespace of its own. Pairs of files of rules (one
# rule per line, no tables or policies) are not rulesets and are left out.
# No privileges needed otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir=${1:?usage: inetmerge.sh CORPUS_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/ctmatch" ./cmd/ctmatch)
check=false
if [ "$(id -u)" = 0 ] && command -v nft >/dev/null && command -v unshare >/dev/null; then
	check=true
fi
echo "| pair | nft rules in (ip + ip6) | nft rules out (inet) | for both families | saved | nft -c |"
echo "|---|---:|---:|---:|---:|---|"
tin=0 tout=0 tboth=0
for v6 in "$dir"/*6.rules; do
	v4=${v6%6.rules}.rules
	[ -f "$v4" ] || continue
	first=$(grep -m1 -v -e '^#' -e '^[[:space:]]*$' "$v4" || true)
	case $first in \**|:*) ;; *) continue ;; esac
	"$tmp/ctmatch" translate --keep-going -f "$v4" --file6 "$v6" --family inet >"$tmp/out.nft" 2>/dev/null || true
	line=$(head -1 "$tmp/out.nft")
	read -r n4 n6 out both < <(sed -E 's/^# inet merge: ([0-9]+) iptables and ([0-9]+) ip6tables nft rules in, ([0-9]+) nft rules out \(([0-9]+) for both families\)$/\1 \2 \3 \4/' <<<"$line")
	ok=-
	if $check; then
		ok=no
		if unshare -n nft -c -f "$tmp/out.nft" 2>/dev/null; then ok=yes; fi
	fi
	in=$((n4 + n6))
	echo "| $(basename "${v4%.rules}") | $in ($n4 + $n6) | $out | $both | $((in - out)) | $ok |"
	tin=$((tin + in)) tout=$((tout + out)) tboth=$((tboth + both))
done
echo "| **total** | $tin | $tout | $tboth | $((tin - tout)) | |"
