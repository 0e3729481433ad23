package expr_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/nftforms"
)

// nftMsg is one message of a transaction nft sent: its type and body
// (nfgenmsg and attributes), rebuilt from --debug=mnl.
type nftMsg struct {
	typ  int
	body []byte
}

// nftMessages runs script with nft --debug=mnl and returns every
// NEWSET, NEWSETELEM and NEWRULE message it sent, in order.
func nftMessages(t *testing.T, out string) []nftMsg {
	t.Helper()
	var msgs []nftMsg
	var cur *nftMsg
	for _, l := range strings.Split(ansiColor.ReplaceAllString(out, ""), "\n") {
		switch {
		case mnlLength.MatchString(l):
			msgs = append(msgs, nftMsg{})
			cur = &msgs[len(msgs)-1]
		case cur == nil:
		case mnlType.MatchString(l):
			cur.typ, _ = strconv.Atoi(mnlType.FindStringSubmatch(l)[1])
		case mnlExtra.MatchString(l):
			h, _ := hex.DecodeString(strings.Join(mnlExtra.FindStringSubmatch(l)[1:], ""))
			cur.body = append(cur.body, h...)
		case mnlAttrHeader.MatchString(l):
			m := mnlAttrHeader.FindStringSubmatch(l)
			n, _ := strconv.Atoi(m[1])
			typ, _ := strconv.Atoi(m[4])
			if m[2] == "N" {
				typ |= 0x8000
			}
			cur.body = binary.NativeEndian.AppendUint16(cur.body, uint16(n))
			cur.body = binary.NativeEndian.AppendUint16(cur.body, uint16(typ))
		case mnlData.MatchString(l):
			h, _ := hex.DecodeString(strings.Join(mnlData.FindStringSubmatch(l)[1:5], ""))
			cur.body = append(cur.body, h...)
		}
	}
	var keep []nftMsg
	for _, m := range msgs {
		switch m.typ {
		case 10<<8 | 9, 10<<8 | 12, 10<<8 | 6: // NFT_MSG_NEWSET, NEWSETELEM, NEWRULE
			keep = append(keep, m)
		}
	}
	return keep
}

// attrs splits a body's attributes (after the nfgenmsg) by type.
func attrsOf(b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	for _, a := range splitAttrs(b) {
		n := binary.NativeEndian.Uint16(a)
		out[binary.NativeEndian.Uint16(a[2:])&^0xc000] = a[4:n]
	}
	return out
}

// setOf reads nft's NEWSET message and its NEWSETELEM into an expr.Set.
func setOf(t *testing.T, set, elems nftMsg) expr.Set {
	t.Helper()
	a := attrsOf(set.body[4:])
	s := expr.Set{Name: strings.TrimRight(string(a[2]), "\x00"), Flags: u32be(a[3]), KeyType: u32be(a[4]), KeyLen: u32be(a[5]), ID: u32be(a[10]), UserData: a[13]}
	if d, ok := a[9]; ok {
		s.Size = u32be(attrsOf(d)[1])
	}
	ea := attrsOf(elems.body[4:])
	if id := u32be(ea[4]); id != s.ID {
		t.Errorf("elements of set id %d after set %d", id, s.ID)
	}
	for _, el := range splitAttrs(ea[3]) {
		x := attrsOf(el[4:binary.NativeEndian.Uint16(el)])
		var e expr.SetElem
		e.Key = attrsOf(x[1])[1]
		if f, ok := x[3]; ok {
			e.IntervalEnd = u32be(f)&1 != 0
		}
		e.UserData = x[6]
		s.Elems = append(s.Elems, e)
	}
	return s
}

var lookupCases = []expr.Rule{
	{Matches: []expr.Match{expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoTCP}, expr.Lookup{Field: expr.FieldTHDport, Elems: []expr.Interval{{Lo: 22, Hi: 22}, {Lo: 80, Hi: 80}, {Lo: 8000, Hi: 8100}}}}, Verdict: expr.Verdict{Kind: expr.VerdictAccept}},
	{Matches: []expr.Match{expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoUDP}, expr.Lookup{Field: expr.FieldTHSport, Neg: true, Elems: []expr.Interval{{Lo: 443, Hi: 443}, {Lo: 80, Hi: 80}}}}, Counter: true},
	{Matches: []expr.Match{expr.L4Proto{Op: expr.OpEq, Proto: 132}, expr.Lookup{Field: expr.FieldTHDport, Elems: []expr.Interval{{Lo: 1, Hi: 1}, {Lo: 65535, Hi: 65535}}}}},
	{Matches: []expr.Match{expr.L4Proto{Op: expr.OpEq, Proto: 33}, expr.Lookup{Field: expr.FieldTHSport, Neg: true, Elems: []expr.Interval{{Lo: 0, Hi: 10}, {Lo: 1000, Hi: 65535}}}}},
	{Matches: []expr.Match{expr.Payload{Field: expr.FieldIPFragOff, Mask: 0x1fff, Op: expr.OpEq}, expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoTCP},
		expr.Lookup{Field: expr.FieldTHSport, Neg: true, Elems: []expr.Interval{{Lo: 22, Hi: 22}, {Lo: 80, Hi: 80}}}, expr.Lookup{Field: expr.FieldTHDport, Elems: []expr.Interval{{Lo: 22, Hi: 22}, {Lo: 80, Hi: 89}}}}, Verdict: expr.Verdict{Kind: expr.VerdictDrop}},
	{Matches: []expr.Match{expr.Exthdr{Test: expr.FragFirst}, expr.L4Proto{Op: expr.OpEq, Proto: 136}, expr.Lookup{Field: expr.FieldTHDport, Elems: []expr.Interval{{Lo: 5, Hi: 6}, {Lo: 7, Hi: 9}, {Lo: 100, Hi: 100}}}}},
}

// For every lookup case in every family that takes it, nft 1.0.6 sends, for
// the case's text, the rule LowerSets gives and the sets it gives (their
// attributes, the elements and their userdata); DebugLines prints the rule
// as nft does, and DebugSetLines the sets; RaiseSets of nft's bytes, with the sets nft sent, gives the
// case back with its elements in CanonicalIntervals' order.
func TestLookupMatchesNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	// nft 1.1.2 and later send an anonymous set without its size
	// (internal/nftforms): then the sets are compared without it.
	nf := newForms(t)
	checked := 0
	for _, family := range []string{"ip", "ip6", "inet"} {
		fam := families[family]
		var script strings.Builder
		fmt.Fprintf(&script, "flush ruleset\nadd table %[1]s t\nadd chain %[1]s t c\n", family)
		var cases []expr.Rule
		for _, r := range lookupCases {
			if !fitsFamily(r, family) {
				continue
			}
			cases = append(cases, r)
			fmt.Fprintf(&script, "add rule %s t c %s\n", family, r)
		}
		out := ktest.Run(t, ns, script.String(), "nft", "--debug=mnl,netlink", "-f", "-")
		msgs := nftMessages(t, out)
		sent, err := parseNftDebug(out)
		if err != nil {
			t.Fatal(err)
		}
		var setLines, ourSetLines []string
		for _, l := range strings.Split(ansiColor.ReplaceAllString(out, ""), "\n") {
			if nf {
				// libnftnl 1.3 starts a set's line with its family.
				l = setFamily.ReplaceAllString(l, "")
			}
			if strings.HasPrefix(l, expr.AnonymousSetName+" ") || strings.HasPrefix(l, "\telement ") {
				setLines = append(setLines, l)
			}
		}
		next := uint32(1)
		for i, r := range cases {
			exprs, sets, err := r.LowerSets(fam, next)
			if err != nil {
				t.Fatalf("%s %s: %v", family, r, err)
			}
			next += uint32(len(sets))
			var theirs []expr.Set
			for len(msgs) > 0 && msgs[0].typ != 10<<8|6 {
				if len(msgs) < 2 {
					t.Fatalf("%s %s: a set without elements", family, r)
				}
				theirs = append(theirs, setOf(t, msgs[0], msgs[1]))
				msgs = msgs[2:]
			}
			msgs = msgs[1:]
			for i, st := range sets {
				if nf {
					st.Size = 0
					sets[i] = st
				}
				ourSetLines = append(ourSetLines, expr.DebugSetLines("t", st)...)
			}
			if diff := cmp.Diff(theirs, sets); diff != "" {
				t.Errorf("%s %s: sets (-nft +LowerSets):\n%s", family, r, diff)
			}
			if got, want := hex.EncodeToString(exprs), hex.EncodeToString(sent[i].exprs); got != want {
				t.Errorf("%s %s: LowerSets gives\n%s\nnft sends\n%s", family, r, got, want)
			}
			lines, err := expr.DebugLines(sent[i].exprs)
			if err != nil || !cmp.Equal(lines, sent[i].lines) {
				t.Errorf("%s %s: DebugLines %q (%v), nft prints %q", family, r, lines, err, sent[i].lines)
			}
			byID := func(name string, id uint32) (expr.Set, error) {
				for _, s := range theirs {
					if s.ID == id && name == expr.AnonymousSetName {
						return s, nil
					}
				}
				return expr.Set{}, fmt.Errorf("no set %s id %d", name, id)
			}
			got, err := expr.RaiseSets(fam, sent[i].exprs, byID)
			if err != nil {
				t.Errorf("%s %s: RaiseSets: %v", family, r, err)
				continue
			}
			if diff := cmp.Diff(canonicalSets(r), got); diff != "" {
				t.Errorf("%s %s: RaiseSets (-want +got):\n%s", family, r, diff)
			}
			if _, err := expr.Raise(fam, sent[i].exprs); err == nil || !strings.Contains(err.Error(), expr.ErrNoSetSource.Error()) {
				t.Errorf("%s %s: Raise without the sets: %v, want %v", family, r, err, expr.ErrNoSetSource)
			}
			checked++
		}
		if diff := cmp.Diff(setLines, ourSetLines); diff != "" {
			t.Errorf("%s: DebugSetLines (-nft +ours):\n%s", family, diff)
		}
	}
	t.Logf("%d rules with lookups checked against nft's sets and bytes", checked)
}

// canonicalSets is r with each lookup's elements as RaiseSets gives them.
func canonicalSets(r expr.Rule) expr.Rule {
	r.Matches = append([]expr.Match(nil), r.Matches...)
	for i, m := range r.Matches {
		if l, ok := m.(expr.Lookup); ok {
			l.Elems = expr.CanonicalIntervals(l.Elems)
			r.Matches[i] = l
		}
	}
	return r
}

// setFamily is the family libnftnl 1.3 prints before a set's line.
var setFamily = regexp.MustCompile(`^family \d+ `)

func u32be(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// nft 1.0.6 merges two inequalities of adjacent fields into one load and
// one "cmp neq" of both (which holds when either differs); the text of
// such a pair writes the first as a range of one value, which nft keeps
// apart, and Lower sends what nft sends for that text.
func TestNeqPairMatchesNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	tcp := expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoTCP}
	r := expr.Rule{Matches: []expr.Match{tcp, expr.Payload{Field: expr.FieldTHSport, Op: expr.OpNeq, Lo: 1}, expr.Payload{Field: expr.FieldTHDport, Op: expr.OpNeq, Lo: 4}}}
	if got, want := r.String(), "tcp sport != 1-1 tcp dport != 4"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
	sent := nftSends(t, ns, nftScript("ip", r.String(), "tcp sport != 1 tcp dport != 4"))
	b, err := r.Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	nf := newForms(t)
	if hex.EncodeToString(b) != hex.EncodeToString(sent[0].exprs) && !(nf && sameForms(b, sent[0].exprs)) {
		t.Errorf("Lower gives\n%x\nnft sends\n%x", b, sent[0].exprs)
	}
	merged := strings.Join(sent[1].lines, "\n")
	if v := nftforms.Need(t); v.AtLeast(1, 1, 0) {
		// nft 1.1.0 and later keep the two inequalities apart (nftables
		// commit "do not merge payloads on negation"): the range of one
		// value is no longer needed there, and does no harm.
		t.Logf("nft %v sends for %q:\n%s", v, "tcp sport != 1 tcp dport != 4", merged)
	} else if !strings.Contains(merged, "payload load 4b @ transport header + 0") || !strings.Contains(merged, "cmp neq reg 1 0x04000100") {
		t.Errorf("nft 1.0.6 no longer merges the two inequalities:\n%s", merged)
	}
	back, err := expr.Raise(expr.FamilyIP, sent[0].exprs)
	if err != nil || back.String() != r.String() {
		t.Errorf("Raise gives %q (%v), want %q", back.String(), err, r.String())
	}
}
