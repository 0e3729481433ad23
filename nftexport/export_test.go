package nftexport_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	nftexpr "github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/nftexport"
)

// exportCase is a line of compile/testdata/cases.txt compiled for one table
// family.
type exportCase struct {
	name  string
	words string
	ipv6  bool
	table expr.Family
}

// exportCases returns every golden case for each table family its words can
// go into: iptables words into ip and inet tables, ip6tables words into ip6
// and inet.
func exportCases(t *testing.T) []exportCase {
	t.Helper()
	data, err := os.ReadFile("../compile/testdata/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []exportCase
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.SplitN(line, " | ", 3)
		if len(p) != 3 {
			t.Fatalf("bad case line %q", line)
		}
		c := exportCase{name: p[0], words: p[2], ipv6: p[1] == "-6", table: expr.FamilyIP}
		if c.ipv6 {
			c.table = expr.FamilyIP6
		}
		out = append(out, c)
		c.table = expr.FamilyInet
		out = append(out, c)
	}
	return out
}

// exportable is the list of ct keys the export must take, written from
// google/nftables v0.3.0's encoding (expr/ct.go: it sends a direction only
// for keys 3, 4, 11 and 12, and as 4 bytes), independently of export.go.
var exportable = map[expr.CtKey]bool{
	expr.CtState: true, expr.CtStatus: true, expr.CtExpiration: true, expr.CtDirection: true, expr.CtProtocol: true,
}

// firstLookup returns the first lookup in an anonymous set, in rule order,
// or ok false.
func firstLookup(rules []expr.Rule) (rule, match int, l expr.Lookup, ok bool) {
	for i, r := range rules {
		for j, m := range r.Matches {
			if l, ok := m.(expr.Lookup); ok {
				return i, j, l, true
			}
		}
	}
	return 0, 0, expr.Lookup{}, false
}

// firstRefused returns the first match, in rule order, whose key the export
// must refuse, or ok false.
func firstRefused(rules []expr.Rule) (rule, match int, c expr.Ct, ok bool) {
	for i, r := range rules {
		for j, m := range r.Matches {
			if c, isCt := m.(expr.Ct); isCt && !exportable[c.Key] {
				return i, j, c, true
			}
		}
	}
	return 0, 0, expr.Ct{}, false
}

// googleWire encodes exprs as google/nftables v0.3.0 puts them in a NEWRULE
// message: the payload of NFTA_RULE_EXPRESSIONS.
func googleWire(t *testing.T, f expr.Family, exprs []nftexpr.Any) []byte {
	t.Helper()
	var attrs []netlink.Attribute
	for _, e := range exprs {
		b, err := nftexpr.Marshal(byte(f), e)
		if err != nil {
			t.Fatal(err)
		}
		attrs = append(attrs, netlink.Attribute{Type: unix.NLA_F_NESTED | 1, Data: b}) // NFTA_LIST_ELEM
	}
	b, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var addrComparer = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), // a netmap's
}

// Every golden case, in every table family, is either exported, and
// google/nftables encodes the export as a rule that reads back as the same
// IR that ctmatch's own encoding reads back as, or refused with an
// *nftexport.Error that names the first match with a key v0.3.0 mis-encodes.
// The kernel's side of the same claim, byte for byte, is in
// e2e/export_test.go.
func TestExprsGoldenCases(t *testing.T) {
	exported, refused, nftRules := 0, 0, 0
	refusedOptions := map[string]bool{}
	for _, c := range exportCases(t) {
		name := c.name + " " + c.table.String()
		r, err := ctmatch.Translate(c.words, ctmatch.Options{Table: c.table, IPv6: c.ipv6})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		all, err := nftexport.Exprs(r)
		ri, mi, bad, mustRefuse := firstRefused(r.Rules)
		if !mustRefuse && masqueradePorts(r.Rules) {
			var ee *nftexport.Error
			if !errors.As(err, &ee) || ee.Option != "-j MASQUERADE" || !strings.Contains(ee.Reason, "PROTO_SPECIFIED") || ee.Hint == "" {
				t.Errorf("%s: Exprs() error %v, want an *nftexport.Error for the masquerade's ports", name, err)
			}
			refused++
			continue
		}
		if !mustRefuse && zoneDirection(r.Rules) {
			var ee *nftexport.Error
			if !errors.As(err, &ee) || all != nil || ee.Option != "-j CT" || !strings.Contains(ee.Reason, "NFTA_CT_DIRECTION") || ee.Hint == "" {
				t.Errorf("%s: Exprs() error %v, want an *nftexport.Error for the zone's direction", name, err)
			}
			refused++
			continue
		}
		if li, lj, lk, ok := firstLookup(r.Rules); ok && (!mustRefuse || li < ri || li == ri && lj < mi) {
			// A lookup in an anonymous set (-m multiport) is refused.
			var ee *nftexport.Error
			if !errors.As(err, &ee) || all != nil || ee.Rule != li || ee.Match != lj || ee.Option != "-m multiport" || ee.Text != lk.String() ||
				!strings.Contains(err.Error(), "google/nftables v0.3.0") || !strings.Contains(ee.Hint, "ctmatch add rule") {
				t.Errorf("%s: Exprs() error %#v (%v), want the lookup %q at rule %d match %d refused", name, ee, err, lk.String(), li, lj)
				continue
			}
			refusedOptions[ee.Option] = true
			refused++
			continue
		}
		if mustRefuse {
			var ee *nftexport.Error
			if !errors.As(err, &ee) {
				t.Errorf("%s: Exprs() error %v, want an *nftexport.Error for %q", name, err, bad.String())
				continue
			}
			if all != nil {
				t.Errorf("%s: Exprs() returned expressions with its error", name)
			}
			if ee.Rule != ri || ee.Match != mi || ee.Key != bad.Key || ee.Dir != bad.Dir || ee.Text != bad.String() {
				t.Errorf("%s: error names rule %d match %d key %d dir %d %q, want rule %d match %d key %d dir %d %q",
					name, ee.Rule, ee.Match, ee.Key, ee.Dir, ee.Text, ri, mi, bad.Key, bad.Dir, bad.String())
			}
			for _, want := range []string{ee.Option, bad.String(), "google/nftables v0.3.0"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not say %q", name, err, want)
				}
			}
			for _, want := range []string{"ctmatch add rule", "firewall.Dial"} {
				if !strings.Contains(ee.Hint, want) {
					t.Errorf("%s: hint %q does not say %q", name, ee.Hint, want)
				}
				if strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q gives the advice %q, which belongs in its Hint", name, err, want)
				}
			}
			if !strings.Contains(c.words, ee.Option) {
				t.Errorf("%s: error names option %s, which the rule %q does not have", name, ee.Option, c.words)
			}
			refusedOptions[ee.Option] = true
			refused++
			continue
		}
		if err != nil {
			t.Errorf("%s: Exprs(): %v", name, err)
			continue
		}
		if len(all) != len(r.Rules) {
			t.Fatalf("%s: %d expression lists for %d rules", name, len(all), len(r.Rules))
		}
		wire, err := r.Wire()
		if err != nil {
			t.Fatal(err)
		}
		for i := range all {
			want, err := expr.Raise(c.table, wire[i])
			if err != nil {
				t.Fatalf("%s: raise ctmatch's own bytes: %v", name, err)
			}
			got, err := expr.Raise(c.table, googleWire(t, c.table, all[i]))
			if err != nil {
				t.Errorf("%s: rule %d: google/nftables' bytes do not read back: %v", name, i+1, err)
				continue
			}
			if diff := cmp.Diff(want, got, addrComparer); diff != "" {
				t.Errorf("%s: rule %d (%s): google/nftables' bytes read back otherwise (-want +got):\n%s", name, i+1, r.Rules[i], diff)
			}
			nftRules++
		}
		exported++
	}
	var opts []string
	for o := range refusedOptions {
		opts = append(opts, o)
	}
	sort.Strings(opts)
	t.Logf("%d cases exported (%d nft rules), %d refused; refused options: %s", exported, nftRules, refused, strings.Join(opts, " "))
	// Every option with a refused key is exercised by the cases, and nothing
	// else is refused.
	want := []string{"--ctorigdst", "--ctorigdstport", "--ctorigsrc", "--ctorigsrcport",
		"--ctrepldst", "--ctrepldstport", "--ctreplsrc", "--ctreplsrcport", "-m multiport"}
	if diff := cmp.Diff(want, opts); diff != "" {
		t.Errorf("refused options (-want +got):\n%s", diff)
	}
	if exported < 100 || refused < 50 {
		t.Errorf("only %d cases exported and %d refused: have the cases changed?", exported, refused)
	}
}

// Each refused key, in each direction, names its option and why.
func TestExportErrorNamesTheOption(t *testing.T) {
	for _, tc := range []struct {
		words  string
		ipv6   bool
		option string
		reason string
	}{
		{"-m conntrack --ctorigsrcport 1024:65535", false, "--ctorigsrcport", "4 bytes"},
		{"-m conntrack --ctorigdstport 22", false, "--ctorigdstport", "4 bytes"},
		{"-m conntrack ! --ctreplsrcport 80", false, "--ctreplsrcport", "reads the reply direction as original"},
		{"-m conntrack --ctrepldstport 8080", true, "--ctrepldstport", "4 bytes"},
		{"-m conntrack --ctorigsrc 10.0.0.0/8", false, "--ctorigsrc", "EINVAL"},
		{"-m conntrack ! --ctorigdst 10.0.0.1", false, "--ctorigdst", "no direction"},
		{"-m conntrack --ctreplsrc 2001:db8::/32", true, "--ctreplsrc", "keys 19-22"},
		{"-m conntrack --ctstate NEW --ctrepldst ::1", true, "--ctrepldst", "EINVAL"},
	} {
		r, err := ctmatch.Translate(tc.words, ctmatch.Options{IPv6: tc.ipv6})
		if err != nil {
			t.Fatal(err)
		}
		_, err = nftexport.Exprs(r)
		var ee *nftexport.Error
		if !errors.As(err, &ee) {
			t.Errorf("%s: Exprs() error %v, want an *nftexport.Error", tc.words, err)
			continue
		}
		if ee.Option != tc.option || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v: want option %s and %q", tc.words, err, tc.option, tc.reason)
		}
	}
}

// AddTo queues the rules on the caller's connection and sends nothing: the
// caller's Flush sends them, one NEWRULE per nft rule, holding the exported
// expressions. A rule that cannot be exported, or a chain of another family,
// queues nothing.
func TestAddTo(t *testing.T) {
	var sent [][]netlink.Message
	conn, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if len(req) > 0 { // nil: a read with nothing sent
			sent = append(sent, req)
		}
		return nil, errors.New("fake kernel: stop here")
	}))
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "fw"}
	chain := &nftables.Chain{Table: table, Name: "input"}
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW,DNAT --ctproto tcp -j ACCEPT", ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Refused: nothing is queued.
	bad, err := ctmatch.Translate("-m conntrack --ctorigdstport 22", ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nftexport.AddTo(bad, conn, chain); err == nil {
		t.Error("AddTo of a port match: no error")
	}
	inet := &nftables.Chain{Table: &nftables.Table{Family: nftables.TableFamilyINet, Name: "fw"}, Name: "input"}
	_, err = nftexport.AddTo(r, conn, inet)
	var fe *nftexport.FamilyError
	if !errors.As(err, &fe) || fe.Rule != expr.FamilyIP || fe.Family != nftables.TableFamilyINet || fe.Table != "fw" ||
		err.Error() != "nftexport: the rules are for an ip table, not for table fw of family inet" {
		t.Errorf("AddTo of ip rules into an inet chain: %v, want a *FamilyError naming ip and inet", err)
	}
	bridge := &nftables.Chain{Table: &nftables.Table{Family: nftables.TableFamilyBridge, Name: "br"}, Name: "input"}
	if _, err := nftexport.AddTo(r, conn, bridge); err == nil || err.Error() != "nftexport: the rules are for an ip table, not for table br of family bridge" {
		t.Errorf("AddTo of ip rules into a bridge chain: %v", err)
	}
	for _, c := range []*nftables.Chain{nil, {Name: "input"}} {
		if _, err := nftexport.AddTo(r, conn, c); !errors.Is(err, nftexport.ErrNoChain) {
			t.Errorf("AddTo into %+v: %v, want ErrNoChain", c, err)
		}
	}
	queued, err := nftexport.AddTo(r, conn, chain)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 0 {
		t.Fatalf("AddTo sent %d batches: it must only queue", len(sent))
	}
	if len(queued) != len(r.Rules) || len(r.Rules) != 2 {
		t.Fatalf("AddTo queued %d rules for %d nft rules (want 2)", len(queued), len(r.Rules))
	}
	for i, q := range queued {
		if q.Table != table || q.Chain != chain {
			t.Errorf("rule %d queued for %v/%v", i, q.Table, q.Chain)
		}
		if q.UserData != nil {
			t.Errorf("rule %d without a comment queued with userdata % x", i, q.UserData)
		}
	}

	if err := conn.Flush(); err == nil {
		t.Fatal("Flush through the fake kernel: no error")
	}
	if len(sent) != 1 {
		t.Fatalf("Flush sent %d batches, want 1", len(sent))
	}
	// BEGIN, one NEWRULE per rule, END: nothing of the refused rule.
	batch := sent[0]
	if len(batch) != len(r.Rules)+2 {
		t.Fatalf("the batch holds %d messages, want %d", len(batch), len(r.Rules)+2)
	}
	wire, err := r.Wire()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range batch[1 : len(batch)-1] {
		if m.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWRULE) {
			t.Fatalf("message %d has type %#x, want NEWRULE", i+1, m.Header.Type)
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			t.Fatal(err)
		}
		var exprs []byte
		for ad.Next() {
			if ad.Type() == unix.NFTA_RULE_EXPRESSIONS {
				exprs = ad.Bytes()
			}
		}
		got, err := expr.Raise(expr.FamilyIP, exprs)
		if err != nil {
			t.Fatalf("rule %d: %v", i+1, err)
		}
		want, err := expr.Raise(expr.FamilyIP, wire[i])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, addrComparer); diff != "" {
			t.Errorf("rule %d as sent (-want +got):\n%s", i+1, diff)
		}
	}
}

func ExampleExprs() {
	r, err := ctmatch.Translate("-A INPUT -m conntrack --ctproto udp --ctdir REPLY -j ACCEPT", ctmatch.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(r)
	rules, err := nftexport.Exprs(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range rules[0] {
		fmt.Printf("%T %+v\n", e, e)
	}
	// Output:
	// ct original protocol 17 ct direction reply counter accept
	// *expr.Ct &{Register:1 SourceRegister:false Key:10 Direction:0}
	// *expr.Cmp &{Op:0 Register:1 Data:[17]}
	// *expr.Ct &{Register:1 SourceRegister:false Key:1 Direction:0}
	// *expr.Cmp &{Op:0 Register:1 Data:[1]}
	// *expr.Counter &{Bytes:0 Packets:0}
	// *expr.Verdict &{Kind:1 Chain:}
}

func ExampleError() {
	r, err := ctmatch.Translate("-m conntrack --ctstate NEW --ctreplsrcport 53", ctmatch.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = nftexport.Exprs(r)
	var ee *nftexport.Error
	if errors.As(err, &ee) {
		fmt.Println(ee.Option)
		fmt.Println(ee.Text)
		fmt.Println(ee.Hint)
	}
	fmt.Println(err)
	// Output:
	// --ctreplsrcport
	// ct reply proto-src 53
	// load the rule with ctmatch's own loader instead (firewall.Dial and Apply, or ctmatch add rule)
	// cannot export --ctreplsrcport (ct reply proto-src 53, nft rule 1) to google/nftables expressions: google/nftables v0.3.0 sends the ct direction attribute as 4 bytes where the kernel reads 1: the kernel logs "attribute type 3 has an invalid length" for the rule and reads the reply direction as original
}

// A program that builds its ruleset with google/nftables queues ctmatch's
// rules next to its own, and flushes them itself: here in the network
// namespace /run/netns/fw (no output: it is compiled, never run against the
// host; e2e/'s export test loads rules this way in a namespace of its own).
func ExampleAddTo() {
	ns, err := os.Open("/run/netns/fw")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
	if err != nil {
		fmt.Println(err)
		return
	}
	table := conn.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "fw"})
	chain := conn.AddChain(&nftables.Chain{Table: table, Name: "input",
		Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
	r, err := ctmatch.Translate("-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", ctmatch.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := nftexport.AddTo(r, conn, chain); err != nil {
		fmt.Println(err)
		return
	}
	if err := conn.Flush(); err != nil {
		fmt.Println(err)
	}
}

// AddTo puts a rule's -m comment in its userdata, as nft's comment record.
func TestAddToComment(t *testing.T) {
	conn, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		return nil, errors.New("fake kernel: stop here")
	}))
	if err != nil {
		t.Fatal(err)
	}
	chain := &nftables.Chain{Table: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "fw"}, Name: "input"}
	// A rule's -m comment is nft's comment record in its userdata.
	commented, err := ctmatch.Translate(`-m conntrack --ctstate NEW -m comment --comment "new flows" -j ACCEPT`, ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cq, err := nftexport.AddTo(commented, conn, chain)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{0, 10}, "new flows\x00"...); len(cq) != 1 || !bytes.Equal(cq[0].UserData, want) {
		t.Errorf("AddTo of a commented rule queued %+v, want one rule with userdata % x", cq, want)
	}
}

// masqueradePorts reports whether a rule masquerades to ports, which
// google/nftables v0.3.0 encodes without flags.
func masqueradePorts(rs []expr.Rule) bool {
	for _, r := range rs {
		for _, s := range r.Stmts {
			if m, ok := s.(expr.Masquerade); ok && !m.Ports.IsZero() {
				return true
			}
		}
	}
	return false
}

// Why a masquerade with ports is refused: google/nftables v0.3.0 encodes it
// with no NFTA_MASQ_FLAGS, which Raise refuses (the ports would not be
// mapped, and --random is lost).
func TestGoogleMasqueradePortsLoseFlags(t *testing.T) {
	g := []nftexpr.Any{
		&nftexpr.Immediate{Register: 1, Data: []byte{4, 0}},
		&nftexpr.Masq{ToPorts: true, Random: true, RegProtoMin: 1},
	}
	_, err := expr.Raise(expr.FamilyIP, googleWire(t, expr.FamilyIP, g))
	if err == nil || !strings.Contains(err.Error(), "PROTO_SPECIFIED") {
		t.Fatalf("Raise of v0.3.0's masquerade with ports: %v, want it refused for the missing flag", err)
	}
}

// zoneDirection reports whether a rule sets a zone of one direction (CT
// --zone-orig, --zone-reply), which google/nftables v0.3.0's Ct cannot send.
func zoneDirection(rs []expr.Rule) bool {
	for _, r := range rs {
		for _, s := range r.Stmts {
			if z, ok := s.(expr.SetCtZone); ok && z.Dir != expr.ZoneBoth {
				return true
			}
		}
	}
	return false
}
