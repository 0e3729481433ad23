#!/bin/bash
# translate.sh [N]: translate the same N rules (default 1000) with
# `ctmatch translate` and with `iptables-translate`, one process per rule for
# both, alternating runs, and print the median wall time of each and the
# ratio, next to an empty Go program started as many times (the floor of any
# Go command: the runtime's own start and exit); then the same rules in one process each: ctmatch translate -f
# against iptables-restore-translate, both of the same iptables-save file; then iptables-save files of
# SIZES rules (default 10000 50000 200000) through both, wall time (median of RUNS) and peak memory
# (the largest maximum resident set size /usr/bin/time saw) of each. PER_RULE=0 leaves out the runs of
# one process per rule. Needs iptables-translate (package iptables) and /usr/bin/time; no privileges.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/ctmatch" ./cmd/ctmatch # as make builds it
mkdir "$tmp/empty"
printf 'package main\n\nfunc main() {}\n' > "$tmp/empty/main.go"
printf 'module empty\n\ngo 1.25\n' > "$tmp/empty/go.mod"
(cd "$tmp/empty" && CGO_ENABLED=0 go build -o "$tmp/emptygo" .)
bash bench/rules.sh "$n" > "$tmp/rules"

loop() { # loop CMD...: run CMD with each rule's words, one process per rule
	while read -r line; do
		# shellcheck disable=SC2086
		"$@" $line > /dev/null
	done < "$tmp/rules"
}
timeit() { # timeit NAME CMD...: append the wall seconds of one loop to $tmp/NAME
	local name=$1; shift
	local t0 t1
	t0=$(date +%s.%N)
	loop "$@"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$tmp/time.$name"
}
{ echo '*filter'; cat "$tmp/rules"; echo COMMIT; } > "$tmp/rules.save"
whole() { # whole NAME CMD...: append the wall seconds of one run of CMD to $tmp/time.NAME
	local name=$1; shift
	local t0 t1
	t0=$(date +%s.%N)
	"$@" > /dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$tmp/time.$name"
}
per_rule=${PER_RULE:-1}
for ((r = 0; r < runs; r++)); do
	[ "$per_rule" = 0 ] && break
	timeit ctmatch "$tmp/ctmatch" translate --
	timeit iptables iptables-translate
	timeit empty "$tmp/emptygo"
	whole ctmatch-f "$tmp/ctmatch" translate -f "$tmp/rules.save"
	whole restore iptables-restore-translate -f "$tmp/rules.save"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
sized() { # sized NAME N CMD...: append the wall seconds, CPU seconds and peak KB of one run of CMD to $tmp/{time,cpu,mem}.NAME.N
	local name=$1 n=$2; shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/one" "$@" > /dev/null
	read -r secs user sys kb < "$tmp/one"
	echo "$secs" >> "$tmp/time.$name.$n"
	awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}' >> "$tmp/cpu.$name.$n"
	echo "$kb" >> "$tmp/mem.$name.$n"
}
sizes=${SIZES:-10000 50000 200000}
for s in $sizes; do
	{ echo '*filter'; bash bench/rules.sh "$s"; echo COMMIT; } > "$tmp/save.$s"
	for ((r = 0; r < runs; r++)); do
		sized ctmatch "$s" "$tmp/ctmatch" translate -f "$tmp/save.$s"
		sized restore "$s" iptables-restore-translate -f "$tmp/save.$s"
	done
done
peak() { sort -n "$1" | tail -1; }
sizetable() {
	printf 'iptables-save files, runs: %d (medians of wall and CPU time, user + system; peak memory is the largest maximum RSS)\n' "$runs"
	printf '%8s  %12s %12s %16s  %12s %12s %16s  %10s %10s\n' rules 'ctmatch -f' 'restore-tr.' 'restore/ctmatch' 'ctmatch CPU' 'restore CPU' 'restore/ctmatch' 'ctmatch MB' 'restore MB'
	for s in $sizes; do
		awk -v n="$s" -v c="$(median "$tmp/time.ctmatch.$s")" -v i="$(median "$tmp/time.restore.$s")" \
			-v cc="$(median "$tmp/cpu.ctmatch.$s")" -v ic="$(median "$tmp/cpu.restore.$s")" \
			-v cm="$(peak "$tmp/mem.ctmatch.$s")" -v im="$(peak "$tmp/mem.restore.$s")" \
			'BEGIN { printf "%8d  %10.3f s %10.3f s %15.2fx  %10.3f s %10.3f s %15.2fx  %10.1f %10.1f\n", n, c, i, i / c, cc, ic, ic / cc, cm / 1024, im / 1024 }'
	done
}
if [ "$per_rule" = 0 ]; then
	sizetable
	exit 0
fi
c=$(median "$tmp/time.ctmatch")
i=$(median "$tmp/time.iptables")
e=$(median "$tmp/time.empty")
cf=$(median "$tmp/time.ctmatch-f")
rf=$(median "$tmp/time.restore")
printf 'rules: %d, runs: %d (medians of wall time, one process per rule)\n' "$n" "$runs"
awk -v c="$c" -v i="$i" -v e="$e" -v n="$n" 'BEGIN {
	printf "ctmatch translate:  %8.3f s  (%.3f ms per rule)\n", c, c * 1000 / n
	printf "iptables-translate: %8.3f s  (%.3f ms per rule)\n", i, i * 1000 / n
	printf "empty Go program:   %8.3f s  (%.3f ms per start)\n", e, e * 1000 / n
	printf "ratio ctmatch/iptables-translate: %.2f\n", c / i
	printf "ratio ctmatch/empty Go program:   %.2f\n", c / e
}'
awk -v c="$cf" -v i="$rf" -v n="$n" 'BEGIN {
	printf "\nall rules in one process:\n"
	printf "ctmatch translate -f:          %8.3f s\n", c
	printf "iptables-restore-translate -f: %8.3f s\n", i
	printf "ratio: %.2f\n", c / i
}'
echo
sizetable
