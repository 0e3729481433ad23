#!/bin/bash
# load.sh [N...]: load the same N iptables conntrack rules (default: 1000,
# 10000 and 50000) into a network namespace of its own three ways, alternating
# runs (RUNS, default 3):
#   ctmatch       `ctmatch apply --create`, and bench/cmd/load (translate
#                 every rule through the Go API, one kernel.Tx, which also
#                 times the commit call alone);
#   nft -f        ctmatch's translated text (ctmatch translate -f);
#   iptables-nft-restore  the iptables-save form (xt conntrack matches).
# Every timed load is checked before its time counts: ctmatch's and nft's
# chains must hold byte-identical expression lists (a raw GETRULE dump through
# kernel/, bench/cmd/dump), iptables-nft-restore's one rule per input line.
# Prints the medians of wall time, user and system CPU and peak memory
# (/usr/bin/time), the ratios against ctmatch, and the commit time that
# bench/cmd/load measures (one sendmsg of the whole batch, in which the kernel
# applies it, plus reading the replies): the kernel's floor.
#
# Then, into existing chains (UPDATE=0 leaves it out): the chain already
# holds the same N rules (loaded with ctmatch apply, not timed), and the N
# lines are added to it again, each run into a chain loaded afresh:
#   ctmatch apply         the N `add rule` lines (the end of the chain: the
#                         chain is not read), and the same with GOGC=100;
#   ctmatch apply, --index  the same lines after one `insert rule ... --index 2`
#                         line, which has ctmatch read and group the whole
#                         chain in that line (the collector's pacing under a
#                         burst), and the same with GOGC=100;
#   nft -f                the same `add rule` text (nft adds at the end).
# Each variant's chain, after its first run, must hold byte-identical
# expression lists to the other variants' (those with the --index line one
# rule more).
#
# MIX=whole loads whole rules instead (bench/rules.sh's MIX=whole: -p,
# ports, icmp types, -i, -s, -d, ttl and comments around conntrack matches).
#
# BASE=REV also times the ctmatch of git revision REV (built from git
# archive): its fresh load, and its two variants into existing chains, for a
# comparison in the same run.
#
# Needs root (it makes and removes the namespace ctmatch-bench-PID and never
# touches the host's ruleset), nft, iptables-nft-restore, nsenter and
# /usr/bin/time (package time). PROFILE=DIR also writes a CPU and an
# allocation profile of one extra ctmatch load per N into DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "load.sh: needs root: it makes a network namespace" >&2
	exit 1
fi
for tool in nft iptables-nft-restore nsenter ip /usr/bin/time; do
	command -v "$tool" > /dev/null || { echo "load.sh: $tool is missing (/usr/bin/time: apt-get install time)" >&2; exit 1; }
done
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000)
runs=${RUNS:-3}
ns=ctmatch-bench-$$
nsp=/run/netns/$ns
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$ns" 2> /dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"

go build -o "$tmp/ctmatch" ./cmd/ctmatch
go build -o "$tmp/load" ./bench/cmd/load
go build -o "$tmp/dump" ./bench/cmd/dump
tools=(ctmatch load nft iptables)
if [ -n "${BASE:-}" ]; then
	mkdir "$tmp/base"
	git archive "$BASE" | tar -x -C "$tmp/base"
	(cd "$tmp/base" && go build -o "$tmp/ctmatch-base" ./cmd/ctmatch)
	tools+=(base)
fi

inns() { nsenter --net="$nsp" -- "$@"; }

# timed NAME CMD...: run CMD under /usr/bin/time, its stderr into
# $tmp/err.NAME, and write "wall user sys maxrss_kB" to $tmp/last (the wall
# time from the clock around it, to the millisecond; %e has 10 ms steps).
timed() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	/usr/bin/time -o "$tmp/time" -f "%U %S %M" "$@" > /dev/null 2> "$tmp/err.$name" || {
		echo "load.sh: $name failed:" >&2
		cat "$tmp/err.$name" "$tmp/time" >&2
		exit 1
	}
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" '{print b - a, $0}' "$tmp/time" > "$tmp/last"
}

# check NAME: the chain just loaded holds what it must.
check() {
	local name=$1 got
	case $name in
	ctmatch | load | nft | base)
		"$tmp/dump" -netns "$nsp" -table t -chain INPUT > "$tmp/dump.$name"
		got=$(wc -l < "$tmp/dump.$name")
		if [ "$got" != "$pieces" ]; then
			echo "load.sh: $name left $got rules in ip t INPUT, want $pieces" >&2
			exit 1
		fi
		if [ ! -s "$tmp/dump.ref" ]; then
			cp "$tmp/dump.$name" "$tmp/dump.ref"
		elif ! cmp -s "$tmp/dump.$name" "$tmp/dump.ref"; then
			echo "load.sh: $name's rules differ from the first load's, byte for byte in the kernel's dump:" >&2
			cmp "$tmp/dump.$name" "$tmp/dump.ref" >&2 || true
			exit 1
		fi
		;;
	iptables)
		got=$("$tmp/dump" -netns "$nsp" -table filter -chain INPUT | wc -l)
		if [ "$got" != "$n" ]; then
			echo "load.sh: iptables-nft-restore left $got rules in ip filter INPUT, want $n" >&2
			exit 1
		fi
		;;
	esac
}

run_one() { # run_one NAME: flush, load, check; append the figures to $tmp/time.NAME
	local name=$1
	inns nft flush ruleset
	case $name in
	ctmatch) timed ctmatch "$tmp/ctmatch" apply --create -f "$tmp/rules.apply" --netns "$nsp" ;;
	base) timed base "$tmp/ctmatch-base" apply --create -f "$tmp/rules.apply" --netns "$nsp" ;;
	load)
		timed load "$tmp/load" -f "$tmp/rules" -netns "$nsp" -table t
		awk '/^commit-seconds/ {print $2}' "$tmp/err.load" >> "$tmp/commit"
		;;
	nft) timed nft nsenter --net="$nsp" -- nft -f "$tmp/rules.nft" ;;
	iptables) timed iptables nsenter --net="$nsp" -- iptables-nft-restore "$tmp/rules.save" ;;
	esac
	cat "$tmp/last" >> "$tmp/time.$name"
	check "$name"
}

median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
col() { awk -v c="$2" '{print $c}' "$tmp/time.$1" | median; }

printf '# %s, %s, nft %s, %s; %d runs each, medians\n' \
	"$(uname -r)" "$(nproc) CPUs" "$(nft --version | awk '{print $2}')" "$(iptables --version | awk '{print $1, $2}')" "$runs"
printf '| rules (nft rules) | tool | wall s | user s | sys s | peak MB | wall / ctmatch | memory / ctmatch |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
	rm -f "$tmp"/time.* "$tmp/commit" "$tmp/dump.ref"
	# bench/rules.sh's rules, with --ctproto tcp before every port match that
	# has none: nft 1.0.6 cannot parse a ct port match without a protocol
	# test, and all three tools must load the same rules.
	bash bench/rules.sh "$n" | sed -E '/--ctproto/!s/ --ct(orig|repl)(src|dst)port/ --ctproto tcp&/' > "$tmp/rules"
	{
		echo 'add table ip t'
		echo 'add chain ip t INPUT { type filter hook input priority 0; policy accept; }'
		"$tmp/ctmatch" translate --table t -f "$tmp/rules" | grep -v '^#' | sed "s/^nft '//; s/'\$//"
	} > "$tmp/rules.nft"
	{
		echo '*filter'
		echo ':INPUT ACCEPT [0:0]'
		echo ':FORWARD ACCEPT [0:0]'
		echo ':OUTPUT ACCEPT [0:0]'
		cat "$tmp/rules"
		echo COMMIT
	} > "$tmp/rules.save"
	# ctmatch apply's commands: add rule ip t INPUT -- WORDS (--create makes
	# the table and the base chain INPUT as iptables-nft would).
	sed -E 's/^-A ([^ ]+) (.*)$/add rule ip t \1 -- \2/' "$tmp/rules" > "$tmp/rules.apply"
	pieces=$(grep -c '^add rule' "$tmp/rules.nft")
	for ((r = 0; r < runs; r++)); do
		# Rotate the order, so that no tool always runs first.
		for ((k = 0; k < ${#tools[@]}; k++)); do
			run_one "${tools[(k + r) % ${#tools[@]}]}"
		done
	done
	cw=$(col ctmatch 1)
	cm=$(col ctmatch 4)
	for name in "${tools[@]}"; do
		case $name in
		ctmatch) label="ctmatch apply" ;;
		load) label="bench/cmd/load (Go API)" ;;
		nft) label="nft -f" ;;
		iptables) label="iptables-nft-restore" ;;
		base) label="ctmatch apply ($BASE)" ;;
		esac
		awk -v n="$n" -v p="$pieces" -v l="$label" -v w="$(col "$name" 1)" -v u="$(col "$name" 2)" \
			-v s="$(col "$name" 3)" -v m="$(col "$name" 4)" -v cw="$cw" -v cm="$cm" 'BEGIN {
			printf "| %d (%d) | %s | %.3f | %.3f | %.3f | %.1f | %.2f | %.2f |\n", n, p, l, w, u, s, m / 1024, w / cw, m / cm
		}'
	done
	if [ -s "$tmp/commit" ]; then
		awk -v n="$n" -v c="$(median < "$tmp/commit")" 'BEGIN {
			printf "| %d | kernel floor: the commit call alone (in bench/cmd/load) | %.3f | | | | | |\n", n, c
		}'
	fi
		if [ "${UPDATE:-1}" != 0 ]; then
		cp "$tmp/rules.apply" "$tmp/update.$n"
		{
			echo "insert rule ip t INPUT --index 2 -- -m conntrack --ctstate UNTRACKED -j DROP"
			cat "$tmp/rules.apply"
		} > "$tmp/update-index.$n"
		cp "$tmp/rules.nft" "$tmp/update.nft.$n"
		echo "$pieces" > "$tmp/pieces.$n"
	fi
	if [ -n "${PROFILE:-}" ]; then
		mkdir -p "$PROFILE"
		inns nft flush ruleset
		"$tmp/load" -f "$tmp/rules" -netns "$nsp" -table t \
			-cpuprofile "$PROFILE/cpu.$n.pprof" -memprofile "$PROFILE/allocs.$n.pprof" 2> "$PROFILE/load.$n.txt"
		cp "$tmp/load" "$PROFILE/load.bin"
	fi
done

[ "${UPDATE:-1}" != 0 ] || { inns nft flush ruleset; exit 0; }

# Into existing chains.
variants=(append append-gogc index index-gogc nft)
[ -z "${BASE:-}" ] || variants+=(base-append base-index)
update_one() { # update_one VARIANT N: load N rules, time the variant, append its figures to $tmp/time.VARIANT
	local v=$1 n=$2
	inns nft flush ruleset
	# (The base revision loads its chain itself: before is all before.)
	local loader=$tmp/ctmatch
	case $v in base-*) loader=$tmp/ctmatch-base ;; esac
	"$loader" apply --create -f "$tmp/update.$n" --netns "$nsp"
	case $v in
	append) timed "$v" "$tmp/ctmatch" apply -f "$tmp/update.$n" --netns "$nsp" ;;
	append-gogc) timed "$v" env GOGC=100 "$tmp/ctmatch" apply -f "$tmp/update.$n" --netns "$nsp" ;;
	index) timed "$v" "$tmp/ctmatch" apply -f "$tmp/update-index.$n" --netns "$nsp" ;;
	index-gogc) timed "$v" env GOGC=100 "$tmp/ctmatch" apply -f "$tmp/update-index.$n" --netns "$nsp" ;;
	nft) timed "$v" nsenter --net="$nsp" -- nft -f "$tmp/update.nft.$n" ;;
	base-append) timed "$v" "$tmp/ctmatch-base" apply -f "$tmp/update.$n" --netns "$nsp" ;;
	base-index) timed "$v" "$tmp/ctmatch-base" apply -f "$tmp/update-index.$n" --netns "$nsp" ;;
	esac
	cat "$tmp/last" >> "$tmp/time.$v"
}
# update_check VARIANT N: the chain holds what the variant must have left.
update_check() {
	local v=$1 n=$2 want ref
	want=$((2 * $(cat "$tmp/pieces.$n")))
	ref=$tmp/dump.update
	case $v in *index*) want=$((want + 1)) ref=$tmp/dump.update-index ;; esac
	"$tmp/dump" -netns "$nsp" -table t -chain INPUT > "$tmp/dump.$v"
	if [ "$(wc -l < "$tmp/dump.$v")" != "$want" ]; then
		echo "load.sh: $v left $(wc -l < "$tmp/dump.$v") rules in ip t INPUT, want $want" >&2
		exit 1
	fi
	if [ ! -s "$ref" ]; then
		cp "$tmp/dump.$v" "$ref"
	elif ! cmp -s "$tmp/dump.$v" "$ref"; then
		echo "load.sh: $v's rules differ from those of the first variant like it, byte for byte in the kernel's dump:" >&2
		cmp "$tmp/dump.$v" "$ref" >&2 || true
		exit 1
	fi
}
printf '\n| rules in the chain (nft rules) + lines added | variant | wall s | user s | sys s | peak MB | wall / ctmatch |\n'
printf '|---|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
	rm -f "$tmp"/time.* "$tmp/dump.update" "$tmp/dump.update-index"
	for ((r = 0; r < runs; r++)); do
		for ((k = 0; k < ${#variants[@]}; k++)); do
			v=${variants[(k + r) % ${#variants[@]}]}
			update_one "$v" "$n"
			if ((r == 0)); then
				update_check "$v" "$n"
			fi
		done
	done
	cw=$(col append 1)
	for v in "${variants[@]}"; do
		case $v in
		append) label="ctmatch apply, add rule lines" ;;
		append-gogc) label="ctmatch apply, add rule lines, GOGC=100" ;;
		index) label="ctmatch apply, one --index line first" ;;
		index-gogc) label="ctmatch apply, one --index line first, GOGC=100" ;;
		nft) label="nft -f" ;;
		base-append) label="ctmatch apply ($BASE), add rule lines" ;;
		base-index) label="ctmatch apply ($BASE), one --index line first" ;;
		esac
		awk -v n="$n" -v p="$(cat "$tmp/pieces.$n")" -v l="$label" -v w="$(col "$v" 1)" -v u="$(col "$v" 2)" \
			-v s="$(col "$v" 3)" -v m="$(col "$v" 4)" -v cw="$cw" 'BEGIN {
			printf "| %d (%d) + %d | %s | %.3f | %.3f | %.3f | %.1f | %.2f |\n", n, p, n, l, w, u, s, m / 1024, w / cw
		}'
	done
done
inns nft flush ruleset
