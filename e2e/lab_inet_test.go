package e2e

import (
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// labInet holds cases of both families for an inet table, where every
// translated rule starts with meta nfproto: the states that exist without a
// conntrack (INVALID, UNTRACKED) and the options that name no family (ports,
// status, direction, expire) are where a rule for one family would also
// count the other family's packets without it. Between the two families,
// every option appears plain and negated (TestLabCompleteness).
var labInet = map[lab.Family][]labCase{
	lab.IPv4: {
		{words: "-m conntrack --ctstate INVALID"},
		{words: "-m conntrack ! --ctstate INVALID"},
		{words: "-m conntrack --ctstate NEW,DNAT"},
		{words: "-m conntrack ! --ctstate SNAT"},
		{words: "-m conntrack --ctstate INVALID,UNTRACKED"},
		{words: "-m conntrack ! --ctstate ESTABLISHED --ctorigsrc 10.1.0.2"},
		{words: "-m conntrack --ctstate INVALID --ctproto 17"},
		{words: "-m conntrack --ctproto 17"},
		{words: "-m conntrack ! --ctorigdst 10.9.0.1"},
		{words: "-m conntrack --ctorigdst 10.0.0.2/255.0.0.255"},
		{words: "-m conntrack --ctorigsrcport 40002"},
		{words: "-m conntrack ! --ctreplsrcport 8008"},
		{words: "-m conntrack --ctstatus SEEN_REPLY"},
		{words: "-m conntrack ! --ctstatus NONE"},
		{words: "-m conntrack --ctdir REPLY"},
		{words: "-m conntrack --ctexpire 15"},
		{words: "-m conntrack ! --ctexpire 14:15"},
		{words: "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT", always: true},
		{words: "-m conntrack --ctstate NEW -m conntrack --ctproto 17"},
		{words: "-m conntrack ! --ctproto 6"},
		{words: "-m conntrack ! --ctorigsrc 10.1.0.2"},
		{words: "-m conntrack ! --ctreplsrc 10.2.0.0/24"},
		{words: "-m conntrack --ctrepldst 10.2.0.1"},
		{words: "-m conntrack ! --ctorigsrcport 40002"},
		{words: "-m conntrack ! --ctorigdstport 8000:8003"},
		{words: "-m conntrack --ctreplsrcport 8008"},
		{words: "-m conntrack ! --ctrepldstport 20009"},
	},
	lab.IPv6: {
		{words: "-m conntrack --ctstate INVALID"},
		{words: "-m conntrack ! --ctstate UNTRACKED"},
		{words: "-m conntrack --ctstate NEW,DNAT"},
		{words: "-m conntrack ! --ctstate SNAT,DNAT"},
		{words: "-m conntrack ! --ctstate ESTABLISHED --ctorigsrc fd00:1::2"},
		{words: "-m conntrack --ctproto 58"},
		{words: "-m conntrack --ctreplsrc fd00:2::2"},
		{words: "-m conntrack ! --ctrepldst fd00::1/ffff::ffff"},
		{words: "-m conntrack --ctorigdstport 8000:8003"},
		{words: "-m conntrack --ctrepldstport 20009"},
		{words: "-m conntrack ! --ctstatus ASSURED"},
		{words: "-m conntrack --ctdir ORIGINAL"},
		{words: "-m conntrack --ctexpire 14:15"},
		{words: "-m conntrack --ctexpire 0"},
		{words: "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT", always: true},
		{words: "-m conntrack --ctstate NEW,DNAT -m conntrack --ctstatus SEEN_REPLY"},
		{words: "-m conntrack ! --ctproto 58"},
		{words: "-m conntrack ! --ctorigsrc fd00:1::2"},
		{words: "-m conntrack ! --ctreplsrc fd00:1::/64"},
		{words: "-m conntrack --ctrepldst fd00:2::1"},
		{words: "-m conntrack ! --ctorigsrcport 40002"},
		{words: "-m conntrack ! --ctorigdstport 8000:8003"},
		{words: "-m conntrack --ctreplsrcport 8008"},
		{words: "-m conntrack ! --ctrepldstport 20009"},
	},
}

// IPv4 and IPv6 cases together in an inet table, against the traffic of
// both families: each case's rules count only its own family's packets, as
// iptables and ip6tables do.
func TestLabInet(t *testing.T) {
	cases := append(labCases(lab.IPv4, labInet[lab.IPv4]), labCases(lab.IPv6, labInet[lab.IPv6])...)
	for i := range cases {
		cases[i].Name = cases[i].Family.String() + " " + cases[i].Words
	}
	runLab(t, expr.FamilyInet, cases, lab.Scenario(lab.IPv4, lab.IPv6))
}
