#!/bin/bash
# append.sh [N...]: the time of one rule added to the end of a chain, and of
# one inserted at its top, when the chain already holds N iptables rules
# (default: 10000, 50000 and 250000; bench/rules.sh's, 1.54 nft rules each),
# with ctmatch and with nft, alternating runs (RUNS, default 3), in a
# network namespace of its own:
#   ctmatch add rule ip t INPUT -- -m conntrack --ctstate UNTRACKED -j ACCEPT
#   nft add rule ip t INPUT ct state untracked accept
#   ctmatch insert rule ip t INPUT -- -m conntrack --ctstate UNTRACKED -j DROP
#   nft insert rule ip t INPUT ct state untracked drop
# BASE=REV also times the ctmatch of git revision REV (built from git
# archive), in every run up to 50,000 rules and in the first run above
# (an older ctmatch may take minutes there). Each command has TIMEOUT
# seconds (default 900). Prints the medians of the wall time (the clock
# around the process).
#
# For chains of up to CHECK_MAX rules (default 50000; listing a chain takes
# the kernel time that grows with the square of its length) the chain is
# listed after the runs: the rules added must be its last ones, those
# inserted its first ones.
#
# Needs root (it makes and removes the namespace ctmatch-append-PID and
# never touches the host's ruleset), nft, nsenter and ip.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "append.sh: needs root: it makes a network namespace" >&2
	exit 1
fi
for tool in nft nsenter ip timeout; do
	command -v "$tool" > /dev/null || { echo "append.sh: $tool is missing" >&2; exit 1; }
done
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 50000 250000)
runs=${RUNS:-3}
timeout=${TIMEOUT:-900}
check_max=${CHECK_MAX:-50000}
ns=ctmatch-append-$$
nsp=/run/netns/$ns
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$ns" 2> /dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"

go build -o "$tmp/ctmatch" ./cmd/ctmatch
tools=(ctmatch-add nft-add ctmatch-insert nft-insert)
if [ -n "${BASE:-}" ]; then
	mkdir "$tmp/base"
	git archive "$BASE" | tar -x -C "$tmp/base"
	(cd "$tmp/base" && go build -o "$tmp/ctmatch-base" ./cmd/ctmatch)
	tools+=(base-add base-insert)
fi

inns() { nsenter --net="$nsp" -- "$@"; }

# timed NAME CMD...: run CMD (bounded by $timeout) and append its wall time
# to $tmp/time.NAME.
timed() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	timeout "$timeout" "$@" > /dev/null 2> "$tmp/err" || {
		echo "append.sh: $name failed or took more than $timeout s:" >&2
		cat "$tmp/err" >&2
		exit 1
	}
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$tmp/time.$name"
}

run_one() { # run_one NAME
	local add=(add rule ip t INPUT --netns "$nsp" -- -m conntrack --ctstate UNTRACKED -j ACCEPT)
	local ins=(insert rule ip t INPUT --netns "$nsp" -- -m conntrack --ctstate UNTRACKED -j DROP)
	case $1 in
	ctmatch-add) timed "$1" "$tmp/ctmatch" "${add[@]}" ;;
	ctmatch-insert) timed "$1" "$tmp/ctmatch" "${ins[@]}" ;;
	base-add) timed "$1" "$tmp/ctmatch-base" "${add[@]}" ;;
	base-insert) timed "$1" "$tmp/ctmatch-base" "${ins[@]}" ;;
	nft-add) timed "$1" nsenter --net="$nsp" -- nft add rule ip t INPUT ct state untracked accept ;;
	nft-insert) timed "$1" nsenter --net="$nsp" -- nft insert rule ip t INPUT ct state untracked drop ;;
	esac
}

median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }

printf '# %s, %s, nft %s; %d runs each, medians\n' "$(uname -r)" "$(nproc) CPUs" "$(nft --version | awk '{print $2}')" "$runs"
printf '| chain: rules (nft rules) | command | wall s | runs | / nft |\n'
printf '|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
	rm -f "$tmp"/time.*
	# (As in load.sh, --ctproto tcp before every port match that has none,
	# so that nft 1.0.6 lists the chain.)
	bash bench/rules.sh "$n" | sed -E '/--ctproto/!s/ --ct(orig|repl)(src|dst)port/ --ctproto tcp&/' > "$tmp/rules"
	sed -E 's/^-A ([^ ]+) (.*)$/add rule ip t \1 -- \2/' "$tmp/rules" > "$tmp/rules.apply"
	pieces=$("$tmp/ctmatch" translate --table t -f "$tmp/rules" | grep -c "^nft 'add rule")
	inns nft flush ruleset
	"$tmp/ctmatch" apply --create -f "$tmp/rules.apply" --netns "$nsp"
	done_runs=0
	for ((r = 0; r < runs; r++)); do
		# Rotate the order, so that no tool always runs first.
		for ((k = 0; k < ${#tools[@]}; k++)); do
			name=${tools[(k + r) % ${#tools[@]}]}
			if [[ $name == base-* ]] && ((n > 50000 && r > 0)); then
				continue
			fi
			run_one "$name"
		done
		done_runs=$((r + 1))
	done
	if ((n <= check_max)); then
		adds=$((2 * done_runs)) inserts=$((2 * done_runs))
		[ -z "${BASE:-}" ] || { adds=$((adds + done_runs)); inserts=$((inserts + done_runs)); }
		inns nft list chain ip t INPUT | grep -E '^\s+(ct|meta)' > "$tmp/listing"
		if head -n "$inserts" "$tmp/listing" | grep -vqE 'ct state untracked (counter packets [0-9]+ bytes [0-9]+ )?drop$' ||
			tail -n "$adds" "$tmp/listing" | grep -vqE 'ct state untracked (counter packets [0-9]+ bytes [0-9]+ )?accept$' ||
			[ "$(wc -l < "$tmp/listing")" != $((pieces + adds + inserts)) ]; then
			echo "append.sh: the chain of $n rules does not hold the rules added last and those inserted first:" >&2
			head -n $((inserts + 2)) "$tmp/listing" >&2
			tail -n $((adds + 2)) "$tmp/listing" >&2
			exit 1
		fi
	fi
	nw=$(median < "$tmp/time.nft-add")
	ni=$(median < "$tmp/time.nft-insert")
	for name in "${tools[@]}"; do
		case $name in
		ctmatch-add) label="ctmatch add rule" ref=$nw ;;
		ctmatch-insert) label="ctmatch insert rule" ref=$ni ;;
		base-add) label="ctmatch add rule ($BASE)" ref=$nw ;;
		base-insert) label="ctmatch insert rule ($BASE)" ref=$ni ;;
		nft-add) label="nft add rule" ref=$nw ;;
		nft-insert) label="nft insert rule" ref=$ni ;;
		esac
		awk -v n="$n" -v p="$pieces" -v l="$label" -v w="$(median < "$tmp/time.$name")" -v c="$(wc -l < "$tmp/time.$name")" -v ref="$ref" 'BEGIN {
			printf "| %d (%d) | %s | %.3f | %d | %.1f |\n", n, p, l, w, c, w / ref
		}'
	done
done
inns nft flush ruleset
