#!/bin/bash
# rules.sh N: print N varied iptables conntrack rules (argv form, one per
# line), the same every time: states, NAT states, addresses, masks, ports,
# statuses, expirations and directions, plain and negated.
n=${1:-1000}
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
