package e2e

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// smallMatchRules are rules of the small matches (-m length, …) that nft
// writes itself, each with the iptables words whose compilation is exactly
// it: list -o iptables reads nft's rules back as those words, and add rule,
// insert rule and apply of the words list the same words again.
var smallMatchRules = []struct {
	table, nft, words string
}{
	{"ip", "ip length 100-200 counter drop", "-m length --length 100:200 -j DROP"},
	{"ip", "ip length != 0x64 counter", "-m length ! --length 100"},
	{"ip", "ip frag-off & 0x1fff == 0 meta l4proto tcp ip length 0-99 tcp dport 22 counter", "-p tcp -m length --length 0:99 -m tcp --dport 22"},
	{"ip6", "ip6 length 1240-1460 counter accept", "-m length --length 1280:1500 -j ACCEPT"},
	{"ip6", "ip6 length != 1461-65495 counter", "-m length --length 0:1500"},
	{"ip6", "ip6 length 65496-65535 counter", "-m length --length 0:39"},
	{"ip", "ip saddr 10.0.0.1-10.0.0.9 ip daddr != 10.0.1.0-10.0.1.255 counter accept", "-m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.0.1.0-10.0.1.255 -j ACCEPT"},
	{"ip", "ip daddr 10.0.0.5-10.0.0.5 counter", "-m iprange --dst-range 10.0.0.5-10.0.0.5"},
	{"ip6", "ip6 saddr != 2001:db8::1-2001:db8::9 counter drop", "-m iprange ! --src-range 2001:db8::1-2001:db8::9 -j DROP"},
	{"ip", "ether saddr 00:11:22:33:44:55 counter accept", "-m mac --mac-source 00:11:22:33:44:55 -j ACCEPT"},
	{"ip", "meta secpath exists counter accept", "-m policy --dir in --pol ipsec -j ACCEPT"},
	{"ip", "ip frag-off & 0x1fff == 0 ah spi 500 counter accept", "-p ah -m ah --ahspi 500 -j ACCEPT"},
	{"ip6", "ah spi != 5-9 ah hdrlength 4 ah reserved 0 counter", "-m ah ! --ahspi 5:9 --ahlen 24 --ahres"},
	{"ip6", "rt ipsec missing counter", "-m policy --dir out --pol none"},
	{"ip6", "iifname \"eth0\" ether saddr != 02:00:00:00:00:01 counter", "-i eth0 -m mac ! --mac-source 02:00:00:00:00:01"},
}

// newFormWords are the words of the rules nft 1.1.2 and later load in
// another form (internal/nftforms): a range of one address is one cmp eq,
// which is -d ADDR/32.
var newFormWords = map[string]string{
	"ip daddr 10.0.0.5-10.0.0.5 counter": "-d 10.0.0.5/32",
}

func TestCLISmallMatches(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	bin := ctmatchCLI(t)
	var script strings.Builder
	script.WriteString("add table ip t\nadd chain ip t c\nadd table ip6 t\nadd chain ip6 t c\n")
	for _, r := range smallMatchRules {
		script.WriteString("add rule " + r.table + " t c " + r.nft + "\n")
	}
	ktest.Run(t, ns, script.String(), "nft", "-f", "-")
	for _, fam := range []string{"ip", "ip6"} {
		var want []string
		for _, r := range smallMatchRules {
			if r.table != fam {
				continue
			}
			if w, ok := newFormWords[r.nft]; ok && nftVersion(t).NewForms() {
				want = append(want, "-A c "+w)
				continue
			}
			want = append(want, "-A c "+r.words)
		}
		got := ruleLines(mustCLI(t, bin, ns, "", "list", "chain", fam, "t", "c", "-o", "iptables"))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("list -o iptables of nft's %s rules:\n%s\nwant:\n%s", fam, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	// add rule, insert rule and apply of the words: the same words back.
	ktest.Run(t, ns, "add chain ip t d\nadd chain ip6 t d\nadd chain ip t e\nadd chain ip6 t e\n", "nft", "-f", "-")
	var apply strings.Builder
	for _, r := range smallMatchRules {
		fam := "-4"
		if r.table == "ip6" {
			fam = "-6"
		}
		mustCLI(t, bin, ns, "", "add", "rule", fam, r.table, "t", "d", "--", r.words)
		apply.WriteString("add rule " + r.table + " t e -- " + r.words + "\n")
	}
	mustCLI(t, bin, ns, apply.String(), "apply", "-f", "-")
	for _, fam := range []string{"ip", "ip6"} {
		for _, chain := range []string{"d", "e"} {
			var want []string
			for _, r := range smallMatchRules {
				if r.table == fam {
					want = append(want, "-A "+chain+" "+r.words)
				}
			}
			got := ruleLines(mustCLI(t, bin, ns, "", "list", "chain", fam, "t", chain, "-o", "iptables"))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("list -o iptables of %s chain %s:\n%s\nwant:\n%s", fam, chain, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
	// insert rule puts the rule first, and lists it back.
	first := smallMatchRules[0]
	mustCLI(t, bin, ns, "", "insert", "rule", "ip", "t", "e", "--", first.words)
	got := ruleLines(mustCLI(t, bin, ns, "", "list", "chain", "ip", "t", "e", "-o", "iptables"))
	if len(got) == 0 || got[0] != "-A e "+first.words {
		t.Errorf("list -o iptables after insert rule: %q, want %q first", got, "-A e "+first.words)
	}
}

// ruleLines returns the -A lines of a listing.
func ruleLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-A ") {
			lines = append(lines, l)
		}
	}
	return lines
}
