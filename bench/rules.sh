#!/bin/bash
# rules.sh N: print N varied iptables conntrack rules (argv form, one per
# line), the same every time: states, NAT states, addresses, masks, ports,
# statuses, expirations and directions, plain and negated.
#
# MIX=whole prints whole rules as real rulesets write them instead, IPv4 and
# valid in the INPUT chain: every other one a conntrack rule of the mix above,
# the others -p with ports or icmp types, -i with + wildcards, -s and -d with
# prefixes, -m ttl and -m comment, plain and negated, most of them with a
# conntrack match too.
n=${1:-1000}
if [ "${MIX:-}" = whole ]; then
	MIX= bash "$0" "$n" | awk '
	BEGIN {
		split("eth0 eth1 wg+ br-+ enp3s0 ppp+", ifs, " ")
		split("echo-request echo-reply destination-unreachable time-exceeded 3/4 parameter-problem", icmps, " ")
	}
	NR % 2 == 1 { print; next }
	{
		i = NR / 2
		r = "-A INPUT"
		if (i % 4 == 0) r = r " -s 10." (i % 256) "." int(i / 256) % 256 ".0/24"
		if (i % 6 == 2) r = r " ! -d 192.168." (i % 256) ".1"
		if (i % 5 == 1) r = r (i % 10 == 1 ? " ! -i " : " -i ") ifs[i % 6 + 1]
		k = i % 8
		if (k == 0) r = r " -p tcp --dport " (1 + i % 65535)
		else if (k == 2) r = r " -p udp --sport 53 --dport " (1024 + i % 1000) ":" (2048 + i % 1000)
		else if (k == 4) r = r " -p icmp --icmp-type " icmps[i % 6 + 1]
		else if (k == 6) r = r " -p tcp -m tcp ! --dport 22"
		else r = r " -p " (i % 3 ? "tcp" : "udp")
		if (i % 7 == 3) r = r " -m ttl --ttl-lt " (1 + i % 64)
		if (i % 3 != 0) r = r " -m conntrack --ctstate " (i % 2 ? "NEW" : "ESTABLISHED,RELATED")
		if (i % 9 == 5) r = r " -m comment --comment \"rule " i "\""
		r = r (i % 4 == 1 ? " -j DROP" : " -j ACCEPT")
		print r
	}'
	exit
fi
states=(NEW ESTABLISHED,RELATED INVALID NEW,DNAT SNAT,DNAT INVALID,NEW,UNTRACKED RELATED,SNAT)
statuses=(ASSURED SEEN_REPLY,ASSURED NONE EXPECTED CONFIRMED)
for ((i = 0; i < n; i++)); do
	r="-A INPUT -m conntrack"
	(( i % 3 == 0 )) && r+=" !"
	r+=" --ctstate ${states[i % ${#states[@]}]}"
	case $((i % 6)) in
	0) r+=" --ctproto tcp --ctorigdstport $((1000 + i % 60000))" ;;
	1) r+=" --ctorigsrc 10.$((i % 256)).$((i / 256 % 256)).0/24" ;;
	2) r+=" ! --ctreplsrc 192.168.$((i % 256)).1/255.255.0.255 --ctdir REPLY" ;;
	3) r+=" --ctstatus ${statuses[i % ${#statuses[@]}]}" ;;
	4) r+=" --ctexpire $((i % 100)):$((i % 100 + 30))" ;;
	5) r+=" --ctorigsrcport 1024:65535 ! --ctrepldstport $((i % 65536))" ;;
	esac
	(( i % 2 == 0 )) && r+=" -j ACCEPT" || r+=" -j DROP"
	echo "$r"
done
