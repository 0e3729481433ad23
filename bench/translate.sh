#!/bin/bash
# translate.sh [N]: translate the same N rules (default 1000) with
# `ctmatch translate` and with `iptables-translate`, one process per rule for
# both, each rule with each tool in turn, and print the median wall time of
# each and the ratio, next to an empty Go program started as many times (the
# floor of any Go command: the runtime's own start and exit), run after each
# rule; then the CPU time (user+sys) of each, in loops of their own; then the same rules in one process each: ctmatch translate -f
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
cpu() { # cpu VAR: set VAR to the user+sys seconds of the processes this shell has waited for
	times > "$tmp/times" # in this shell, not a subshell, whose children these are not
	printf -v "$1" '%s' "$(awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		print u[1] * 60 + u[2] + s[1] * 60 + s[2]
	}' "$tmp/times")"
}
timeit() { # timeit NAME CMD...: append the wall seconds of one loop to $tmp/loop.NAME, its CPU seconds to $tmp/cpu.NAME
	local name=$1; shift
	local t0 t1 c0 c1
	cpu c0
	t0=$(date +%s.%N)
	loop "$@"
	t1=$(date +%s.%N)
	cpu c1
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$tmp/loop.$name"
	awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}' >> "$tmp/cpu.$name"
}
sidebyside() { # one run of each rule with each tool in turn, appending to $tmp/time.NAME the wall seconds of each tool's processes
	local line t0 t1 c=0 i=0 e=0
	while read -r line; do
		# Each process timed alone (bash's EPOCHREALTIME, in µs once the
		# point is dropped), next to its peers: a change of the machine's
		# load weighs on all three alike.
		t0=${EPOCHREALTIME/./}
		# shellcheck disable=SC2086
		"$tmp/ctmatch" translate -- $line > /dev/null
		t1=${EPOCHREALTIME/./}
		c=$((c + t1 - t0))
		# shellcheck disable=SC2086
		iptables-translate $line > /dev/null
		t0=${EPOCHREALTIME/./}
		i=$((i + t0 - t1))
		"$tmp/emptygo" > /dev/null
		t1=${EPOCHREALTIME/./}
		e=$((e + t1 - t0))
	done < "$tmp/rules"
	awk -v c="$c" -v i="$i" -v e="$e" -v d="$tmp" 'BEGIN {
		print c / 1e6 >> (d "/time.ctmatch"); print i / 1e6 >> (d "/time.iptables"); print e / 1e6 >> (d "/time.empty")
	}'
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
	sidebyside
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
lc=$(median "$tmp/loop.ctmatch")
li=$(median "$tmp/loop.iptables")
le=$(median "$tmp/loop.empty")
cc=$(median "$tmp/cpu.ctmatch")
ci=$(median "$tmp/cpu.iptables")
ce=$(median "$tmp/cpu.empty")
cf=$(median "$tmp/time.ctmatch-f")
rf=$(median "$tmp/time.restore")
printf 'rules: %d, runs: %d (medians of wall time, one process per rule, each rule with each tool in turn)\n' "$n" "$runs"
awk -v c="$c" -v i="$i" -v e="$e" -v n="$n" 'BEGIN {
	printf "ctmatch translate:  %8.3f s  (%.3f ms per rule)\n", c, c * 1000 / n
	printf "iptables-translate: %8.3f s  (%.3f ms per rule)\n", i, i * 1000 / n
	printf "empty Go program:   %8.3f s  (%.3f ms per start)\n", e, e * 1000 / n
	printf "ratio ctmatch/iptables-translate: %.2f\n", c / i
	printf "ratio ctmatch/empty Go program:   %.2f\n", c / e
}'
# Each tool in a loop of its own, the loops in turn: the wall time of the
# loop holds the shell's own work for each rule (reading the line), as a
# script's would.
awk -v c="$lc" -v i="$li" -v e="$le" -v n="$n" 'BEGIN {
	printf "\nwall time of a loop of each tool, one process per rule:\n"
	printf "ctmatch translate:  %8.3f s  (%.3f ms per rule)\n", c, c * 1000 / n
	printf "iptables-translate: %8.3f s  (%.3f ms per rule)\n", i, i * 1000 / n
	printf "empty Go program:   %8.3f s  (%.3f ms per start)\n", e, e * 1000 / n
	printf "ratio ctmatch/iptables-translate: %.2f\n", c / i
	printf "ratio ctmatch/empty Go program:   %.2f\n", c / e
}'
# CPU time (user+sys of those loops' commands) is steadier than wall time
# on a machine that other work shares.
awk -v c="$cc" -v i="$ci" -v e="$ce" -v n="$n" 'BEGIN {
	printf "\nCPU time (user+sys) of those loops:\n"
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
