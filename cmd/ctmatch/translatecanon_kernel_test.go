package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/ktest"
)

// saveTables splits an iptables-save listing into its tables (from *TABLE
// to COMMIT), leaving out comments, sorted: iptables-save prints the tables
// in an order of its own (iptables-nft and iptables-legacy differ), which
// translate -o iptables does not follow (it keeps the file's).
func saveTables(s string) []string {
	var tables []string
	var cur strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cur.WriteString(l + "\n")
		if l == "COMMIT" {
			tables = append(tables, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		tables = append(tables, cur.String())
	}
	slices.Sort(tables)
	return tables
}

// canonFiles are the project's iptables-save files that iptables-restore
// loads: the kernel rulesets of translate -f, the save files of
// testdata/save, and the whole-file cases that both
// variants load (both are held to it).
func canonFiles(t *testing.T) []struct {
	name string
	v6   bool
	text string
} {
	var files []struct {
		name string
		v6   bool
		text string
	}
	for _, rs := range saveRulesets {
		files = append(files, struct {
			name string
			v6   bool
			text string
		}{rs.name, rs.v6, rs.text})
	}
	for _, f := range []struct {
		path string
		v6   bool
	}{{"testdata/save/v4.rules", false}, {"testdata/save/v6.rules", true}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, struct {
			name string
			v6   bool
			text string
		}{f.path, f.v6, string(b)})
	}
	files = append(files, struct {
		name string
		v6   bool
		text string
	}{"many-words", false, manyWords})
	for _, c := range cases.SaveCheckCases {
		if c.Kind == "" && c.NFT && c.Legacy {
			text, _, _ := c.File()
			files = append(files, struct {
				name string
				v6   bool
				text string
			}{c.Name, c.V6, text})
		}
	}
	return files
}

// TestTranslateCanonRoundTrip loads each file with iptables-restore and
// prints it back with iptables-save (both variants, each in a namespace of
// its own): translate -o iptables prints the same tables, line for line, and
// prints its own output unchanged.
func TestTranslateCanonRoundTrip(t *testing.T) {
	for _, f := range canonFiles(t) {
		t.Run(strings.ReplaceAll(f.name, "/", "_"), func(t *testing.T) {
			flag, prefix := "-f", "iptables"
			if f.v6 {
				flag, prefix = "--file6", "ip6tables"
			}
			r := runCLI(t, []string{"translate", "-o", "iptables", flag, "-"}, f.text)
			if r.code != 0 {
				t.Fatalf("translate -o iptables: exit %d\n%s", r.code, r.stderr)
			}
			got := saveTables(r.stdout)
			for _, variant := range []string{"-nft", "-legacy"} {
				ns := ktest.Namespace(t, prefix+variant+"-restore", prefix+variant+"-save")
				ktest.Run(t, ns, f.text, prefix+variant+"-restore")
				want := saveTables(ktest.Run(t, ns, "", prefix+variant+"-save"))
				if !slices.Equal(got, want) {
					t.Errorf("%s-save after %s-restore:\n%s\n--- ctmatch translate -o iptables:\n%s", prefix+variant, prefix+variant,
						strings.Join(want, ""), strings.Join(got, ""))
				}
			}
			again := runCLI(t, []string{"translate", "-o", "iptables", flag, "-"}, r.stdout)
			if again.code != 0 || again.stdout != r.stdout {
				t.Errorf("translate -o iptables of its own output: exit %d\n%s\n%s", again.code, again.stdout, again.stderr)
			}
		})
	}
}

// manyWords is a file of many matches and targets, each written otherwise
// than iptables-save prints it, with -I of a comma list, counters and a
// comment line.
const manyWords = `# a host
*filter
:INPUT DROP [10:20]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:zz-svc - [0:0]
:Allow - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443,8000:8100 -j zz-svc
-I INPUT 2 -s 10.0.0.0/8,192.168.1.1 -p udp --sport 53 -j ACCEPT
-A INPUT -p icmp --icmp-type echo-request -m limit --limit 5/sec --limit-burst 10 -j ACCEPT
[3:4] -A INPUT ! -i eth+ -m comment --comment "not eth" -j Allow
-A zz-svc -p tcp --dport 80 -m comment --comment web -j ACCEPT
-A zz-svc -p tcp -m tcp --dport 443 --tcp-flags SYN,ACK SYN -j ACCEPT
-A Allow -m addrtype --dst-type LOCAL -j ACCEPT
-A Allow -j REJECT --reject-with icmp-port-unreachable
-A OUTPUT -m owner --uid-owner 0 -m mark --mark 0x1/0xff -j ACCEPT
-A OUTPUT -d 192.0.2.0/255.255.255.0 -p tcp --syn -j DROP
-A INPUT -m pkttype --pkt-type broadcast -m length --length 0:100 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE
-A PREROUTING -p tcp --dport 2222 -j DNAT --to-destination 10.0.0.2:22
COMMIT
`
