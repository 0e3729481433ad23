package e2e

import (
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// labIPv4 holds every option of the conntrack match, plain and negated, on
// IPv4, chosen against the lab's traffic (see lab.Scenario): the client is
// 10.1.0.2, the server 10.2.0.2, the router 10.1.0.1 and 10.2.0.1 (its SNAT
// address), 10.9.0.1 the address it DNATs to the server; the classes' ports
// are lab.Port*. IP protocol 253 is tracked by conntrack's generic tracker,
// whose "ports" are 0.
var labIPv4 = []labCase{
	// --ctstate: every state, plain and negated.
	{words: "-m conntrack --ctstate INVALID"},
	{words: "-m conntrack ! --ctstate INVALID"},
	{words: "-m conntrack --ctstate NEW"},
	{words: "-m conntrack ! --ctstate NEW"},
	{words: "-m conntrack --ctstate ESTABLISHED"},
	{words: "-m conntrack ! --ctstate ESTABLISHED"},
	{words: "-m conntrack --ctstate RELATED"},
	{words: "-m conntrack ! --ctstate RELATED"},
	{words: "-m conntrack --ctstate UNTRACKED"},
	{words: "-m conntrack ! --ctstate UNTRACKED"},
	{words: "-m conntrack --ctstate SNAT"},
	{words: "-m conntrack ! --ctstate SNAT"},
	{words: "-m conntrack --ctstate DNAT"},
	{words: "-m conntrack ! --ctstate DNAT"},
	// State lists: real states with virtual ones, and the states that
	// exist without a conntrack.
	{words: "-m conntrack --ctstate NEW,DNAT"},
	{words: "-m conntrack ! --ctstate NEW,DNAT"},
	{words: "-m conntrack --ctstate SNAT,DNAT"},
	{words: "-m conntrack ! --ctstate SNAT,DNAT"},
	{words: "-m conntrack --ctstate RELATED,ESTABLISHED"},
	{words: "-m conntrack ! --ctstate NEW,RELATED"},
	{words: "-m conntrack --ctstate INVALID,UNTRACKED"},
	{words: "-m conntrack ! --ctstate INVALID,UNTRACKED"},
	{words: "-m conntrack --ctstate INVALID,SNAT"},
	{words: "-m conntrack ! --ctstate UNTRACKED,DNAT"},
	{words: "-m conntrack --ctstate ESTABLISHED,SNAT"},
	{words: "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT", always: true},
	{words: "-m conntrack ! --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT", never: true},
	{words: "-m state --state NEW"},
	{words: "-m state ! --state RELATED,ESTABLISHED"},
	{words: "-m state --state INVALID,UNTRACKED"},

	// --ctproto, alone and with a state that holds without a conntrack.
	{words: "-m conntrack --ctproto 6"},
	{words: "-m conntrack ! --ctproto 6"},
	{words: "-m conntrack --ctproto 17"},
	{words: "-m conntrack ! --ctproto 17"},
	{words: "-m conntrack --ctproto 1"},
	{words: "-m conntrack ! --ctproto 1"},
	{words: "-m conntrack --ctproto 132", never: true},
	{words: "-m conntrack ! --ctproto 132"},
	{words: "-m conntrack --ctstate INVALID --ctproto 17"},
	{words: "-m conntrack ! --ctstate ESTABLISHED --ctproto 6"},
	{words: "-m conntrack --ctstate NEW,UNTRACKED --ctproto 17"},
	{words: "-m conntrack --ctproto 253"},
	{words: "-m conntrack --ctstate RELATED --ctproto 253"},
	{words: "-m conntrack --ctstate INVALID --ctproto 1"},

	// Addresses: exact, prefixes (byte-aligned and not), host bits, and
	// non-contiguous masks (installed in the xt rule by patching it:
	// iptables 1.8.9 turns them into /32).
	{words: "-m conntrack --ctorigsrc 10.1.0.2"},
	{words: "-m conntrack ! --ctorigsrc 10.1.0.2"},
	{words: "-m conntrack --ctorigsrc 10.2.0.0/16"},
	{words: "-m conntrack ! --ctorigsrc 10.2.0.0/16"},
	{words: "-m conntrack --ctorigsrc 10.1.2.3/8"},
	{words: "-m conntrack --ctorigsrc 10.0.0.2/255.0.255.255"},
	{words: "-m conntrack ! --ctorigsrc 10.0.0.2/255.0.255.255"},
	{words: "-m conntrack --ctorigdst 10.9.0.1"},
	{words: "-m conntrack ! --ctorigdst 10.9.0.1"},
	{words: "-m conntrack --ctorigdst 10.2.0.0/20"},
	{words: "-m conntrack ! --ctorigdst 10.2.0.0/20"},
	{words: "-m conntrack --ctorigdst 10.0.0.2/255.0.0.255"},
	{words: "-m conntrack ! --ctorigdst 10.0.0.2/255.0.0.255"},
	{words: "-m conntrack --ctreplsrc 10.2.0.2"},
	{words: "-m conntrack ! --ctreplsrc 10.2.0.2"},
	{words: "-m conntrack --ctreplsrc 10.2.0.0/24"},
	{words: "-m conntrack ! --ctreplsrc 10.2.0.0/24"},
	{words: "-m conntrack --ctreplsrc 10.1.0.2/0.255.0.255"},
	{words: "-m conntrack ! --ctreplsrc 10.1.0.2/0.255.0.255"},
	{words: "-m conntrack --ctrepldst 10.2.0.1"},
	{words: "-m conntrack ! --ctrepldst 10.2.0.1"},
	{words: "-m conntrack --ctrepldst 10.1.0.0/16"},
	{words: "-m conntrack ! --ctrepldst 10.1.0.0/16"},
	{words: "-m conntrack --ctrepldst 10.0.0.1/255.0.0.255"},
	{words: "-m conntrack ! --ctrepldst 10.0.0.1/255.0.0.255"},
	{words: "-m conntrack ! --ctstate ESTABLISHED --ctorigsrc 10.1.0.2"},

	// Ports, with and without --ctproto; for ICMP the source "port" is the
	// echo identifier (4660) and the destination type<<8|code (2048 for
	// an echo request).
	{words: "-m conntrack --ctorigsrcport 40002"},
	{words: "-m conntrack ! --ctorigsrcport 40002"},
	{words: "-m conntrack --ctorigsrcport 4660"},
	{words: "-m conntrack --ctorigdstport 8000:8003"},
	{words: "-m conntrack ! --ctorigdstport 8000:8003"},
	{words: "-m conntrack --ctorigdstport 2048"},
	{words: "-m conntrack --ctorigdstport 0"},
	{words: "-m conntrack ! --ctorigsrcport 1:65535"},
	{words: "-m conntrack --ctreplsrcport 8008"},
	{words: "-m conntrack ! --ctreplsrcport 8008"},
	{words: "-m conntrack --ctrepldstport 20009"},
	{words: "-m conntrack ! --ctrepldstport 20009"},
	{words: "-m conntrack --ctrepldstport 40000:65535"},
	{words: "-m conntrack ! --ctrepldstport 0:39999"},
	{words: "-m conntrack --ctproto 17 --ctorigdstport 8002"},
	{words: "-m conntrack --ctproto 17 ! --ctorigdstport 8002"},
	{words: "-m conntrack --ctproto 1 --ctorigsrcport 4660"},
	{words: "-m conntrack --ctstate INVALID,NEW --ctproto 6 --ctorigdstport 8001"},
	// Reversed ranges, which iptables 1.8.9 loads as written: no port is in
	// them (20009:0 too, which iptables-save prints as 20009).
	{words: "-m conntrack --ctreplsrcport 100:50", never: true},
	{words: "-m conntrack ! --ctreplsrcport 100:50"},
	{words: "-m conntrack --ctrepldstport 20009:0", never: true},
	{words: "-m conntrack --ctstate INVALID,NEW --ctorigdstport 8003:8001"},
	{words: "-m conntrack --ctproto 17 ! --ctorigsrcport 9:8"},

	// --ctstatus: every status, plain and negated, and NONE.
	{words: "-m conntrack --ctstatus EXPECTED", never: true},
	{words: "-m conntrack ! --ctstatus EXPECTED"},
	{words: "-m conntrack --ctstatus SEEN_REPLY"},
	{words: "-m conntrack ! --ctstatus SEEN_REPLY"},
	{words: "-m conntrack --ctstatus ASSURED"},
	{words: "-m conntrack ! --ctstatus ASSURED"},
	{words: "-m conntrack --ctstatus CONFIRMED"},
	{words: "-m conntrack ! --ctstatus CONFIRMED"},
	{words: "-m conntrack --ctstatus SEEN_REPLY,ASSURED"},
	{words: "-m conntrack --ctstatus NONE", never: true},
	{words: "-m conntrack ! --ctstatus NONE"},
	{words: "-m conntrack --ctstate INVALID ! --ctstatus SEEN_REPLY"},

	// --ctdir.
	{words: "-m conntrack --ctdir ORIGINAL"},
	{words: "-m conntrack --ctdir REPLY"},
	{words: "-m conntrack ! --ctstate SNAT --ctdir REPLY"},

	// --ctexpire: the expire class's errors see 13.5, 14.5, 15.5 and
	// 16.5 s left, the expire-half class's 0.5 s; a flow's first packet
	// sees what the host's uptime puts there (lab.FirstPacket), which no
	// case's coverage rests on.
	{words: "-m conntrack --ctexpire 0"},
	{words: "-m conntrack ! --ctexpire 0"},
	{words: "-m conntrack --ctexpire 15"},
	{words: "-m conntrack ! --ctexpire 15"},
	{words: "-m conntrack --ctexpire 14:15"},
	{words: "-m conntrack ! --ctexpire 14:15"},
	{words: "-m conntrack --ctexpire 15:4294967295"},
	{words: "-m conntrack --ctexpire 0:14"},
	{words: "-m conntrack --ctstate RELATED --ctexpire 13:16"},
	{words: "-m conntrack --ctexpire 4294967295", never: true},
	{words: "-m conntrack --ctexpire 4294968:4294967295", never: true},
	{words: "-m conntrack ! --ctexpire 4294968:4294967295"},
	{words: "-m conntrack --ctexpire 16:14", never: true},
	{words: "-m conntrack --ctexpire 5:0", never: true},
	{words: "-m conntrack --ctstate NEW,RELATED ! --ctexpire 16:14"},

	// Two matches in one rule.
	{words: "-m conntrack --ctstate NEW -m conntrack --ctproto 17"},
	{words: "-m conntrack ! --ctstate ESTABLISHED -m conntrack --ctorigsrc 10.1.0.2"},
	{words: "-m conntrack --ctstate INVALID,NEW -m conntrack ! --ctstate NEW,UNTRACKED"},
	{words: "-m conntrack --ctstate NEW,DNAT -m conntrack --ctstatus SEEN_REPLY"},
	{words: "-m conntrack ! --ctstate SNAT -m conntrack --ctdir REPLY"},
	{words: "-m state --state ESTABLISHED -m conntrack --ctstatus ASSURED"},
	{words: "-m conntrack --ctstate INVALID,UNTRACKED,SNAT -m conntrack ! --ctstate INVALID,DNAT"},
	{words: "-m conntrack ! --ctstate NEW,SNAT -m conntrack ! --ctstate INVALID,DNAT --ctproto 17"},
}

// Every IPv4 case, in an ip table, against the IPv4 traffic: xt_conntrack
// and ctmatch count the same packets of every class at the router's forward
// hook and at the server's input hook.
func TestLabIPv4(t *testing.T) {
	runLab(t, expr.FamilyIP, labCases(lab.IPv4, labIPv4), lab.Scenario(lab.IPv4))
}
