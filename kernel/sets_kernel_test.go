package kernel_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/nftwire"
	"github.com/ctmatch/ctmatch/kernel"
)

// setRule is the expressions of `FIELD { … } accept` written by hand as nft
// 1.0.6 sends them: for a transport port (tcp), meta l4proto, cmp, payload
// load, lookup in the set of the transaction with id, immediate accept; for
// the IPv4 source address, payload load and lookup.
func setRule(port bool, id uint32) []byte {
	var b []byte
	load := func(base, off, n uint32) {
		b = append(b, nftwire.Expr("payload", func(d *netlink.AttributeEncoder) {
			d.Uint32(1, 1) // NFTA_PAYLOAD_DREG
			d.Uint32(2, base)
			d.Uint32(3, off)
			d.Uint32(4, n)
		})...)
	}
	if port {
		b = append(b, nftwire.Expr("meta", func(d *netlink.AttributeEncoder) {
			d.Uint32(2, 16) // NFTA_META_KEY: NFT_META_L4PROTO
			d.Uint32(1, 1)  // NFTA_META_DREG
		})...)
		b = append(b, nftwire.Expr("cmp", func(d *netlink.AttributeEncoder) {
			d.Uint32(1, 1) // NFTA_CMP_SREG
			d.Uint32(2, 0) // NFTA_CMP_OP: NFT_CMP_EQ
			d.Nested(3, func(v *netlink.AttributeEncoder) error { v.Bytes(1, []byte{unix.IPPROTO_TCP}); return nil })
		})...)
		load(2, 2, 2) // NFT_PAYLOAD_TRANSPORT_HEADER, offset 2, 2 bytes
	} else {
		load(1, 12, 4) // NFT_PAYLOAD_NETWORK_HEADER, offset 12, 4 bytes
	}
	b = append(b, nftwire.Expr("lookup", func(d *netlink.AttributeEncoder) {
		d.Uint32(2, 1) // NFTA_LOOKUP_SREG
		d.String(1, kernel.AnonymousSetName)
		d.Uint32(4, id) // NFTA_LOOKUP_SET_ID
	})...)
	b = append(b, nftwire.Expr("immediate", func(d *netlink.AttributeEncoder) {
		d.Uint32(1, 0) // NFTA_IMMEDIATE_DREG: NFT_REG_VERDICT
		d.Nested(2, func(v *netlink.AttributeEncoder) error {
			v.Nested(2, func(vd *netlink.AttributeEncoder) error { vd.Uint32(1, 1); return nil }) // NF_ACCEPT
			return nil
		})
	})...)
	return b
}

func port(p uint16) []byte { return binary.BigEndian.AppendUint16(nil, p) }

func ranges(t *testing.T, rs ...expr.KeyRange) ([]kernel.SetElem, uint32) {
	t.Helper()
	elems, size, err := expr.Intervals(rs)
	if err != nil {
		t.Fatal(err)
	}
	return elems, size
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nft's set userdata (libnftnl's udata TLVs, host-order u32 values), as nft
// 1.0.6 sends it: the key's byte order (type 0: 2, big endian), for an
// interval set merging elements (type 2: 1), and the expression the key is
// typed by (type 3, nested: nft's expression type 7, payload, then its
// protocol and field: tcp dport, ip saddr).
const (
	udTCPDportInterval = "00 04 02000000 02 04 01000000 03 14 00 04 07000000 01 0c 00 04 08000000 01 04 02000000"
	udTCPDport         = "00 04 02000000 03 14 00 04 07000000 01 0c 00 04 08000000 01 04 02000000"
	udIPSaddrInterval  = "00 04 02000000 02 04 01000000 03 14 00 04 07000000 01 0c 00 04 0c000000 01 04 0b000000"
)

// Anonymous sets, their elements and the rules that look them up go in
// the transaction as nft sends them (NEWSET with NFTA_SET_ID, NEWSETELEM
// naming the set by __set%d and that id, intervals as a start and an end
// element), nft lists the same ruleset, and kernel/ lists each rule's set
// and its contents back.
func TestKernelAnonymousSetsMatchNft(t *testing.T) {
	const ip = expr.FamilyIP
	script := `add rule ip t c tcp dport { 80, 443, 8000-8100 } accept
add rule ip t c tcp dport { 0-10, 80, 81, 443, 65000-65535 } accept
add rule ip t c tcp dport { 443, 80 } accept
add rule ip t c ip saddr { 10.0.0.0/8, 192.168.1.1 } accept
`
	type set struct {
		spec  kernel.SetSpec
		elems []kernel.SetElem
		port  bool
		want  []expr.KeyRange // listed back (nil: no intervals)
	}
	r := func(a, b uint16) expr.KeyRange { return expr.KeyRange{From: port(a), To: port(b)} }
	e1, s1 := ranges(t, r(80, 80), r(443, 443), r(8000, 8100))
	e2, s2 := ranges(t, r(0, 10), r(80, 80), r(81, 81), r(443, 443), r(65000, 65535))
	addr := func(a, b string) expr.KeyRange { return expr.KeyRange{From: mustHex(t, a), To: mustHex(t, b)} }
	e4, s4 := ranges(t, addr("0a000000", "0affffff"), addr("c0a80101", "c0a80101"))
	const anon = kernel.SetAnonymous | kernel.SetConstant
	sets := []set{
		{kernel.SetSpec{Flags: anon | kernel.SetInterval, KeyType: 13, KeyLen: 2, Size: s1, UserData: mustHex(t, udTCPDportInterval)}, e1, true,
			[]expr.KeyRange{r(80, 80), r(443, 443), r(8000, 8100)}},
		{kernel.SetSpec{Flags: anon | kernel.SetInterval, KeyType: 13, KeyLen: 2, Size: s2, UserData: mustHex(t, udTCPDportInterval)}, e2, true,
			[]expr.KeyRange{r(0, 10), r(80, 81), r(443, 443), r(65000, 65535)}},
		{kernel.SetSpec{Flags: anon, KeyType: 13, KeyLen: 2, Size: 2, UserData: mustHex(t, udTCPDport)},
			[]kernel.SetElem{{Key: port(443)}, {Key: port(80)}}, true, nil},
		{kernel.SetSpec{Flags: anon | kernel.SetInterval, KeyType: 7, KeyLen: 4, Size: s4, UserData: mustHex(t, udIPSaddrInterval)}, e4, false,
			[]expr.KeyRange{addr("0a000000", "0affffff"), addr("c0a80101", "c0a80101")}},
	}
	c, _ := sameAsNft(t, "add table ip t\nadd chain ip t c\n", script, func(tx *kernel.Tx) {
		for i, s := range sets {
			id := uint32(i + 1) // nft numbers its sets from 1 in each transaction
			s.spec.Name, s.spec.ID = kernel.AnonymousSetName, id
			tx.AddSet(ip, "t", s.spec)
			tx.AddElements(ip, "t", kernel.AnonymousSetName, id, s.elems)
			tx.AddRule(ip, "t", "c", kernel.RuleSpec{Exprs: setRule(s.port, id)})
		}
	})

	ctx := context.Background()
	rules, err := c.Rules(ctx, ip, "t", "c")
	if err != nil || len(rules) != len(sets) {
		t.Fatalf("%d rules (%v), want %d", len(rules), err, len(sets))
	}
	listed, err := c.Sets(ctx, ip, "t")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kernel.Set{}
	for _, s := range listed {
		byName[s.Name] = s
	}
	for i, ru := range rules {
		refs, err := expr.LookupRefs(ru.Exprs)
		var names []string
		for _, r := range refs {
			names = append(names, r.Name)
		}
		if err != nil || len(names) != 1 || !strings.HasPrefix(names[0], "__set") || names[0] == kernel.AnonymousSetName {
			t.Fatalf("rule %d looks up %q (%v), want one set named by the kernel", i, names, err)
		}
		s, ok := byName[names[0]]
		want := sets[i].spec
		if !ok || s.Flags != want.Flags || s.KeyType != want.KeyType || s.KeyLen != want.KeyLen || !bytes.Equal(s.UserData, want.UserData) {
			t.Errorf("rule %d: set %s listed as %+v, want %+v", i, names[0], s, want)
		}
		elems, err := c.SetElements(ctx, ip, "t", names[0])
		if err != nil {
			t.Fatal(err)
		}
		if sets[i].want != nil {
			if diff := cmp.Diff(sets[i].want, expr.Ranges(elems)); diff != "" {
				t.Errorf("rule %d: set %s holds (-want +got):\n%s", i, names[0], diff)
			}
			continue
		}
		var keys [][]byte
		for _, e := range elems {
			keys = append(keys, e.Key)
		}
		if len(keys) != 2 || !(bytes.Equal(keys[0], port(80)) && bytes.Equal(keys[1], port(443)) || bytes.Equal(keys[0], port(443)) && bytes.Equal(keys[1], port(80))) {
			t.Errorf("rule %d: set %s holds %x, want 80 and 443", i, names[0], keys)
		}
	}
}

// A transaction that creates a table, a chain, a set with its elements, a
// rule using it and a ct helper, and then a change the kernel refuses,
// leaves nothing:
// the error names the last change, and no table is there.
func TestKernelSetAtomicity(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const ip = expr.FamilyIP
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	elems, size := ranges(t, expr.KeyRange{From: port(80), To: port(80)}, expr.KeyRange{From: port(8000), To: port(8100)})
	tx.AddTable(ip, "t", nil)
	tx.AddChain(ip, "t", "c", &kernel.BaseChain{Hook: kernel.HookInput}, nil)
	tx.AddSet(ip, "t", kernel.SetSpec{Name: kernel.AnonymousSetName, ID: 1, Flags: kernel.SetAnonymous | kernel.SetConstant | kernel.SetInterval, KeyType: 13, KeyLen: 2, Size: size})
	tx.AddElements(ip, "t", kernel.AnonymousSetName, 1, elems)
	tx.AddRule(ip, "t", "c", kernel.RuleSpec{Exprs: setRule(true, 1)})
	tx.AddObject(ip, "t", kernel.Object{Name: "ftp", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP}})
	tx.AddRule(ip, "t", "c", kernel.RuleSpec{Exprs: kernelCtExprs(255), Source: "the broken one"})
	_, err = tx.Commit(ctx)
	want := "add rule ip t c (the broken one): expression 1 (ct): the kernel lacks a feature this rule needs: operation not supported; the kernel refused the whole transaction, nothing was changed"
	if err == nil || err.Error() != want || !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	tables, err := c.Tables(ctx)
	if err != nil || len(tables) != 0 {
		t.Errorf("after the refused transaction: tables %+v (%v), want none", tables, err)
	}
}

// Elements added to a set that is not there are refused with the set named.
func TestKernelSetErrors(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const ip = expr.FamilyIP
	tx, _ := c.Begin(ctx)
	tx.AddTable(ip, "t", nil)
	tx.AddElements(ip, "t", "nope", 0, []kernel.SetElem{{Key: port(80)}})
	_, err := tx.Commit(ctx)
	want := "add elements ip t set nope: no such set nope in table ip t; the kernel refused the whole transaction, nothing was changed"
	if err == nil || err.Error() != want || !errors.Is(err, unix.ENOENT) {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	if _, err := c.SetElements(ctx, ip, "t", "nope"); err == nil || !errors.Is(err, unix.ENOENT) {
		t.Errorf("listing a missing set: %v, want ENOENT", err)
	}
}

// A rule that looks up a set the transaction did not add is refused with
// the set it names, not as a missing kernel feature.
func TestKernelLookupMissingSet(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const ip = expr.FamilyIP
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(ip, "t", nil)
	tx.AddChain(ip, "t", "c", nil, nil)
	tx.AddSet(ip, "t", kernel.SetSpec{Name: kernel.AnonymousSetName, ID: 1, Flags: kernel.SetAnonymous | kernel.SetConstant, KeyType: 13, KeyLen: 2})
	tx.AddElements(ip, "t", kernel.AnonymousSetName, 1, []kernel.SetElem{{Key: port(22)}})
	tx.AddRule(ip, "t", "c", kernel.RuleSpec{Exprs: setRule(true, 2)})
	_, err = tx.Commit(ctx)
	want := "add rule ip t c: expression 4 (lookup): no such set __set%d (id 2 in the transaction) in table ip t for the rule's lookup: no such file or directory; the kernel refused the whole transaction, nothing was changed"
	if err == nil || err.Error() != want || !errors.Is(err, unix.ENOENT) {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
}

// expr's lookups, lowered with their sets (expr.Rule.LowerSets) and added
// with AddAnonymousSet, make the very transaction nft 1.0.6 sends for their
// text: every NEWSET, NEWSETELEM and NEWRULE message, byte for byte, and the
// same ruleset in the kernel.
func TestKernelLowerSetsMatchNft(t *testing.T) {
	const ip = expr.FamilyIP
	tcp := expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoTCP}
	rules := []expr.Rule{
		{Matches: []expr.Match{tcp, expr.Lookup{Field: expr.FieldTHDport, Elems: []expr.Interval{{Lo: 22, Hi: 22}, {Lo: 80, Hi: 80}, {Lo: 8000, Hi: 8100}}}}, Verdict: expr.Verdict{Kind: expr.VerdictAccept}},
		{Matches: []expr.Match{expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoUDP}, expr.Lookup{Field: expr.FieldTHSport, Neg: true, Elems: []expr.Interval{{Lo: 53, Hi: 53}, {Lo: 123, Hi: 123}}}}, Counter: true},
		{Matches: []expr.Match{expr.L4Proto{Op: expr.OpEq, Proto: 132}, expr.Lookup{Field: expr.FieldTHDport, Elems: []expr.Interval{{Lo: 1, Hi: 1}, {Lo: 65535, Hi: 65535}}}}},
		{Matches: []expr.Match{tcp, expr.Lookup{Field: expr.FieldTHSport, Neg: true, Elems: []expr.Interval{{Lo: 22, Hi: 22}, {Lo: 80, Hi: 80}}},
			expr.Lookup{Field: expr.FieldTHDport, Elems: []expr.Interval{{Lo: 0, Hi: 10}, {Lo: 65000, Hi: 65535}}}}, Verdict: expr.Verdict{Kind: expr.VerdictDrop}},
	}
	var script strings.Builder
	for _, r := range rules {
		script.WriteString("add rule ip t c " + r.String() + "\n")
	}
	sameAsNft(t, "add table ip t\nadd chain ip t c\n", script.String(), func(tx *kernel.Tx) {
		id := uint32(1)
		for _, r := range rules {
			b, sets, err := r.LowerSets(ip, id)
			if err != nil {
				t.Fatal(err)
			}
			id += uint32(len(sets))
			for _, s := range sets {
				tx.AddAnonymousSet(ip, "t", s)
			}
			tx.AddRule(ip, "t", "c", kernel.RuleSpec{Exprs: b})
		}
	})
}
