package e2e

import (
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/lab"
)

// labIPv6 holds every option of the conntrack match, plain and negated, on
// IPv6, chosen against the lab's traffic: the client is fd00:1::2, the
// server fd00:2::2, the router fd00:1::1 and fd00:2::1 (its SNAT address),
// fd00:9::1 the address it DNATs to the server. An ICMPv6 echo request's
// destination "port" is 128<<8 = 32768.
var labIPv6 = []labCase{
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
	{words: "-m conntrack --ctstate NEW,DNAT"},
	{words: "-m conntrack ! --ctstate SNAT,DNAT"},
	{words: "-m conntrack --ctstate RELATED,ESTABLISHED"},
	{words: "-m conntrack --ctstate INVALID,UNTRACKED"},
	{words: "-m conntrack ! --ctstate INVALID,UNTRACKED,DNAT"},
	{words: "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT", always: true},
	{words: "-m state --state NEW"},
	{words: "-m state ! --state INVALID"},

	{words: "-m conntrack --ctproto 58"},
	{words: "-m conntrack ! --ctproto 58"},
	{words: "-m conntrack --ctproto 6"},
	{words: "-m conntrack ! --ctproto 17"},
	{words: "-m conntrack --ctstate INVALID --ctproto 17"},
	{words: "-m conntrack ! --ctstate NEW --ctproto 58"},
	{words: "-m conntrack --ctproto 253"},
	{words: "-m conntrack --ctstate INVALID --ctproto 58"},

	{words: "-m conntrack --ctorigsrc fd00:1::2"},
	{words: "-m conntrack ! --ctorigsrc fd00:1::2"},
	{words: "-m conntrack --ctorigsrc fd00:2::/32"},
	{words: "-m conntrack ! --ctorigsrc fd00:2::/32"},
	{words: "-m conntrack --ctorigsrc fd00:1::5/64"},
	{words: "-m conntrack --ctorigdst fd00:9::1"},
	{words: "-m conntrack ! --ctorigdst fd00:9::1"},
	{words: "-m conntrack --ctorigdst fd00:2::/31"},
	{words: "-m conntrack ! --ctorigdst fd00:2::/31"},
	{words: "-m conntrack --ctorigdst fd00::2/ff00::ffff"},
	{words: "-m conntrack ! --ctorigdst fd00::2/ff00::ffff"},
	{words: "-m conntrack --ctreplsrc fd00:2::2"},
	{words: "-m conntrack ! --ctreplsrc fd00:2::2"},
	{words: "-m conntrack --ctreplsrc fd00:1::/64"},
	{words: "-m conntrack ! --ctreplsrc fd00:1::/64"},
	{words: "-m conntrack --ctrepldst fd00:2::1"},
	{words: "-m conntrack ! --ctrepldst fd00:2::1"},
	{words: "-m conntrack --ctrepldst fd00::1/ffff::ffff"},
	{words: "-m conntrack ! --ctrepldst fd00::1/ffff::ffff"},
	{words: "-m conntrack ! --ctstate ESTABLISHED --ctorigsrc fd00:1::2"},

	{words: "-m conntrack --ctorigsrcport 40002"},
	{words: "-m conntrack ! --ctorigsrcport 40002"},
	{words: "-m conntrack --ctorigsrcport 4660"},
	{words: "-m conntrack --ctorigdstport 32768"},
	{words: "-m conntrack --ctreplsrcport 0"},
	{words: "-m conntrack ! --ctorigdstport 8000:8003"},
	{words: "-m conntrack --ctreplsrcport 8008"},
	{words: "-m conntrack ! --ctreplsrcport 8008"},
	{words: "-m conntrack --ctrepldstport 20009"},
	{words: "-m conntrack ! --ctrepldstport 20009"},
	{words: "-m conntrack --ctproto 17 --ctorigdstport 8002"},
	{words: "-m conntrack --ctproto 58 --ctorigdstport 32768"},

	{words: "-m conntrack --ctstatus EXPECTED", never: true},
	{words: "-m conntrack --ctstatus SEEN_REPLY"},
	{words: "-m conntrack ! --ctstatus SEEN_REPLY"},
	{words: "-m conntrack --ctstatus ASSURED"},
	{words: "-m conntrack ! --ctstatus ASSURED"},
	{words: "-m conntrack --ctstatus CONFIRMED"},
	{words: "-m conntrack --ctstatus NONE", never: true},
	{words: "-m conntrack ! --ctstatus NONE"},

	{words: "-m conntrack --ctdir ORIGINAL"},
	{words: "-m conntrack --ctdir REPLY"},

	{words: "-m conntrack --ctexpire 0"},
	{words: "-m conntrack --ctexpire 15"},
	{words: "-m conntrack ! --ctexpire 15"},
	{words: "-m conntrack --ctexpire 14:15"},
	{words: "-m conntrack ! --ctexpire 14:15"},
	{words: "-m conntrack --ctexpire 0:14"},
	{words: "-m conntrack --ctstate RELATED --ctexpire 13:16"},

	{words: "-m conntrack --ctstate NEW -m conntrack --ctproto 58"},
	{words: "-m conntrack ! --ctstate ESTABLISHED -m conntrack --ctorigsrc fd00:1::2"},
	{words: "-m conntrack --ctstate NEW,DNAT -m conntrack --ctstatus SEEN_REPLY"},
	{words: "-m conntrack --ctstate INVALID,UNTRACKED,SNAT -m conntrack ! --ctstate INVALID,DNAT"},
}

// Every IPv6 case, in an ip6 table, against the IPv6 traffic.
func TestLabIPv6(t *testing.T) {
	runLab(t, expr.FamilyIP6, labCases(lab.IPv6, labIPv6), lab.Scenario(lab.IPv6))
}
