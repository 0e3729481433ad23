#!/bin/bash
# corpus.sh [-json] [-j N] CORPUS_DIR: how many rules of a corpus of real
# iptables rulesets ctmatch translates, next to iptables-translate. Builds
# ctmatch from this tree, then runs bench/cmd/corpus: each -A/-I rule of each
# CORPUS_DIR/*.rules file (*6.rules: ip6tables) goes through
# `ctmatch translate` and iptables-translate (ip6tables-translate) one rule
# at a time, each file whole through `ctmatch translate --keep-going -f` (which
# rules translate as the file gives them: a rules file's -I CHAIN N among the
# rules the file put there), and each iptables-save file whole through
# `ctmatch translate -f` without --keep-going (as root, nft -c -f checks the
# --keep-going scripts) and iptables-restore-translate. Prints a Markdown report (per file, totals,
# what blocks ctmatch), or with -json every rule's outcome. Runs at most 2
# tools at once (-j N to change it). Needs iptables (for the -translate
# tools); no privileges.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/ctmatch" ./cmd/ctmatch && go build -o "$tmp/corpus" ./bench/cmd/corpus)
rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
# As root, nft -c -f checks the scripts of translate --keep-going, in a
# network namespace of their own.
check=()
if [ "$(id -u)" = 0 ] && command -v nft >/dev/null && command -v unshare >/dev/null; then
	check=(-nft-check "unshare -n nft")
fi
"$tmp/corpus" -ctmatch "$tmp/ctmatch" -ctmatch-rev "$rev" "${check[@]}" "$@"
