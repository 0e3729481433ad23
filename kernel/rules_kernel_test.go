package kernel_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/nftwire"
	"github.com/ctmatch/ctmatch/kernel"
)

// kernelLower lowers r for family f, or fails the test.
func kernelLower(t testing.TB, f expr.Family, r expr.Rule) []byte {
	t.Helper()
	b, err := r.Lower(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kernelComment is rule userdata holding nft's comment record
// (NFTNL_UDATA_RULE_COMMENT: type 0, length, the NUL-terminated text).
func kernelComment(s string) []byte {
	return append([]byte{0, byte(len(s) + 1)}, append([]byte(s), 0)...)
}

// kernelCtExprs is an expression list of one ct load of key, written by
// hand: the kernel refuses key 255 with EOPNOTSUPP.
func kernelCtExprs(key uint32) []byte {
	return nftwire.Expr("ct", func(d *netlink.AttributeEncoder) {
		d.Uint32(1, 1)   // NFTA_CT_DREG: NFT_REG_1
		d.Uint32(2, key) // NFTA_CT_KEY
	})
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// Tables, chains and rules made by kernel/ are listed back by kernel/ as they
// were made: expr.Raise gives back the rules, the echoed handles are the
// listed ones, userdata comes back, counters count traffic, and nft sees the
// same ruleset.
func TestKernelRoundTrip(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const f = expr.FamilyInet
	type rule struct {
		chain string
		r     expr.Rule
		ud    []byte
	}
	rules := []rule{
		{"output", expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}}, Counter: true}, kernelComment("first")},
		{"output", expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateEstablished | expr.StateRelated)}}, Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictAccept}}, nil},
		{"output", expr.Rule{Matches: []expr.Match{
			expr.Nfproto{Family: expr.FamilyIP},
			expr.Ct{Key: expr.CtProtocol, Op: expr.OpEq, Lo: 6},
			expr.Ct{Key: expr.CtProtoDst, Dir: expr.DirOriginal, Op: expr.OpRange, Lo: 1000, Hi: 2000},
		}, Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictDrop}}, nil},
		{"output", expr.Rule{Matches: []expr.Match{
			expr.Ct{Key: expr.CtSrcIP, Dir: expr.DirReply, Op: expr.OpEq, Addr: netip.MustParseAddr("10.0.0.0"), AddrMask: netip.MustParseAddr("255.0.0.0")},
		}, Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "sub"}}, kernelComment("jump")},
		{"sub", expr.Rule{Matches: []expr.Match{
			expr.Ct{Key: expr.CtExpiration, Op: expr.OpRange, Lo: 1000, Hi: 5999},
			expr.Ct{Key: expr.CtStatus, Op: expr.OpNone, Mask: uint32(expr.StatusSNAT | expr.StatusDNAT)},
		}, Counter: true, Verdict: expr.Verdict{Kind: expr.VerdictReturn}}, nil},
		{"sub", expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtDirection, Op: expr.OpEq, Lo: 1}}, Verdict: expr.Verdict{Kind: expr.VerdictAccept}}, nil},
	}

	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(f, "ctmatch", []byte("owner"))
	tx.AddChain(f, "ctmatch", "output", &kernel.BaseChain{Type: "filter", Hook: kernel.HookOutput, Priority: 0}, nil)
	tx.AddChain(f, "ctmatch", "sub", nil, []byte("chain-ud"))
	for _, r := range rules {
		tx.AddRule(f, "ctmatch", r.chain, kernel.RuleSpec{Exprs: kernelLower(t, f, r.r), UserData: r.ud})
	}
	res, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed || res.Generation != tx.Generation()+1 || len(res.Handles) != len(rules) {
		t.Fatalf("result = %+v, want committed at generation %d with %d handles", res, tx.Generation()+1, len(rules))
	}
	if gen, err := c.Generation(ctx); err != nil || gen != res.Generation {
		t.Errorf("generation after commit = %d, %v; want %d", gen, err, res.Generation)
	}

	// Traffic: one UDP datagram from the namespace is one new connection,
	// counted by the first rule (20 bytes of IP, 8 of UDP, 1 of data); the
	// ICMP port unreachable it provokes is related, counted by the second
	// (20 bytes of IP, 8 of ICMP, the 29 bytes of the datagram).
	if err := ns.Do(func() error {
		u, err := net.Dial("udp4", "127.0.0.1:9")
		if err != nil {
			return err
		}
		defer u.Close()
		_, err = u.Write([]byte("x"))
		return err
	}); err != nil {
		t.Fatal(err)
	}

	tables, err := c.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != "ctmatch" || tables[0].Family != f || string(tables[0].UserData) != "owner" {
		t.Errorf("tables = %+v, want inet ctmatch with its userdata", tables)
	}
	chains, err := c.Chains(ctx, f, "ctmatch")
	if err != nil {
		t.Fatal(err)
	}
	wantChains := []kernel.Chain{
		// Use counts the rules in a chain and the jumps to it.
		{Family: f, Table: "ctmatch", Name: "output", Use: 4, Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookOutput}},
		{Family: f, Table: "ctmatch", Name: "sub", Use: 3, UserData: []byte("chain-ud")},
	}
	if diff := cmp.Diff(wantChains, chains, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Handle" }, cmp.Ignore())); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}

	handle := 0
	for _, chain := range []string{"output", "sub"} {
		listed, err := c.Rules(ctx, f, "ctmatch", chain)
		if err != nil {
			t.Fatal(err)
		}
		var want []rule
		for _, r := range rules {
			if r.chain == chain {
				want = append(want, r)
			}
		}
		if len(listed) != len(want) {
			t.Fatalf("chain %s: %d rules listed, want %d", chain, len(listed), len(want))
		}
		prev := uint64(0)
		for i, l := range listed {
			if l.Handle != res.Handles[handle] {
				t.Errorf("chain %s rule %d: listed handle %d, echoed %d", chain, i, l.Handle, res.Handles[handle])
			}
			handle++
			if l.Position != prev {
				t.Errorf("chain %s rule %d: position %d, want the handle before it, %d", chain, i, l.Position, prev)
			}
			prev = l.Handle
			got, err := expr.Raise(f, l.Exprs)
			if err != nil {
				t.Errorf("chain %s rule %d: raise: %v", chain, i, err)
				continue
			}
			if diff := cmp.Diff(want[i].r, got, addrCmp); diff != "" {
				t.Errorf("chain %s rule %d: raised (-want +got):\n%s", chain, i, diff)
			}
			if !cmp.Equal(want[i].ud, l.UserData) && !(len(want[i].ud) == 0 && len(l.UserData) == 0) {
				t.Errorf("chain %s rule %d: userdata %q, want %q", chain, i, l.UserData, want[i].ud)
			}
			if (l.Counter != nil) != want[i].r.Counter {
				t.Errorf("chain %s rule %d: counter %+v, want one: %v", chain, i, l.Counter, want[i].r.Counter)
			}
		}
		if chain == "output" {
			if got := listed[0].Counter; got == nil || got.Packets != 1 || got.Bytes != 29 {
				t.Errorf("counter of the first rule = %+v, want 1 packet, 29 bytes", got)
			}
			if got := listed[1].Counter; got == nil || got.Packets != 1 || got.Bytes != 57 {
				t.Errorf("counter of the second rule = %+v, want 1 packet, 57 bytes", got)
			}
		}
	}

	out := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	for _, s := range []string{
		"table inet ctmatch {",
		"chain output {",
		"type filter hook output priority filter; policy accept;",
		`ct state new counter packets 1 bytes 29 comment "first"`,
		"ct state established,related counter packets 1 bytes 57 accept",
		"jump sub",
		`comment "jump"`,
		"chain sub {",
		"ct direction reply accept",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("nft list ruleset lacks %q:\n%s", s, out)
		}
	}
	if n := strings.Count(out, "\n\t\t") - strings.Count(out, "\n\t\ttype "); n != len(rules) {
		t.Errorf("nft lists %d rules, want %d:\n%s", n, len(rules), out)
	}
}

// Rules go where RuleSpec puts them: at the start, before or after a
// handle, at the end; and DeleteRule deletes by handle.
func TestKernelInsertDelete(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const f = expr.FamilyIP
	exprs := kernelLower(t, f, expr.Rule{Matches: []expr.Match{expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}}, Counter: true})
	tag := func(s string) kernel.RuleSpec { return kernel.RuleSpec{Exprs: exprs, UserData: []byte(s)} }

	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(f, "fw", nil)
	tx.AddChain(f, "fw", "c", nil, nil)
	tx.AddRule(f, "fw", "c", tag("A"))
	tx.AddRule(f, "fw", "c", tag("B"))
	res, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hA, hB := res.Handles[0], res.Handles[1]

	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insertBefore := tag("D")
	insertBefore.Insert, insertBefore.Position = true, hB
	after := tag("E")
	after.Position = hA
	atStart := tag("C")
	atStart.Insert = true
	tx.AddRule(f, "fw", "c", atStart)
	tx.AddRule(f, "fw", "c", insertBefore)
	tx.AddRule(f, "fw", "c", after)
	tx.AddRule(f, "fw", "c", tag("F"))
	res, err = tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	handles := map[string]uint64{"A": hA, "B": hB, "C": res.Handles[0], "D": res.Handles[1], "E": res.Handles[2], "F": res.Handles[3]}

	order := func() []string {
		t.Helper()
		rs, err := c.Rules(ctx, f, "fw", "c")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, string(r.UserData))
			if handles[string(r.UserData)] != r.Handle {
				t.Errorf("rule %s: handle %d, echoed %d", r.UserData, r.Handle, handles[string(r.UserData)])
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"C", "A", "E", "D", "B", "F"}, order()); diff != "" {
		t.Errorf("order after inserts (-want +got):\n%s", diff)
	}

	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.DeleteRule(f, "fw", "c", hA)
	tx.DeleteRule(f, "fw", "c", handles["D"])
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"C", "E", "B", "F"}, order()); diff != "" {
		t.Errorf("order after deletes (-want +got):\n%s", diff)
	}
}
