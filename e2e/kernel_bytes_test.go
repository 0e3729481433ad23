package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/goldens"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// goldenCase is a case of compile's golden tests with its hand-written nft
// text.
type goldenCase struct {
	name   string
	family parse.Family
	words  string
	hand   []string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	cs, err := goldens.Cases()
	if err != nil {
		t.Fatal(err)
	}
	h, err := goldens.ReadHandwritten()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]goldenCase, len(cs))
	for i, c := range cs {
		out[i] = goldenCase{name: c.Name, family: c.Family, words: c.Words, hand: h.Rules[c.Name]}
	}
	return out
}

// listElems splits an NFTA_RULE_EXPRESSIONS payload into its list elements;
// bytes it cannot split fail the test.
func listElems(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		n := 0
		if len(b) >= 4 {
			n = int(binary.NativeEndian.Uint16(b))
		}
		if n < 4 || n > len(b) {
			t.Fatalf("expression list: %d bytes left that are not a list element: % x", len(b), b)
		}
		out = append(out, b[:n])
		adv := (n + 3) &^ 3
		if adv > len(b) {
			adv = len(b)
		}
		b = b[adv:]
	}
	return out
}

// TestKernelBytesMatchNft loads every golden case twice into a namespace —
// ctmatch's rules through kernel/, the hand-written text through nft -f — and
// checks that the kernel holds byte-identical expressions for both (read with
// a raw GETRULE dump). A ct port match without a protocol, which nft 1.0.6
// cannot parse, is loaded by nft after "ct original protocol 6", whose two
// expressions are left out of the comparison.
func TestKernelBytesMatchNft(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ctx := context.Background()
	conn := kerneltest.Dial(t, ns)
	checked, ported, comments, withSets := 0, 0, 0, 0
	for _, table := range []expr.Family{expr.FamilyIP, expr.FamilyIP6, expr.FamilyInet} {
		var script strings.Builder
		script.WriteString("add table " + table.String() + " t\nadd chain " + table.String() + " t ours\nadd chain " + table.String() + " t hand\n")
		script.WriteString("add chain " + table.String() + " t new_conns\nadd chain " + table.String() + " t other\n")
		ktest.Run(t, ns, script.String(), "nft", "-f", "-")
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		script.Reset()
		type loaded struct {
			name    string
			rule    expr.Rule
			skipPre int // expressions nft got in front of the rule, to leave out
		}
		var all []loaded
		setID := uint32(0) // the last set id given in the transaction
		for _, c := range goldenCases(t) {
			if (table == expr.FamilyIP && c.family == parse.IPv6) || (table == expr.FamilyIP6 && c.family == parse.IPv4) {
				continue
			}
			r, err := parse.ParseText(c.words, parse.Options{Family: c.family})
			if err != nil {
				t.Fatal(err)
			}
			rules, err := compile.Rule(r, compile.Options{Table: table, Family: c.family, Counter: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rules) != len(c.hand) {
				t.Fatalf("%s: %d rules, %d hand-written", c.name, len(rules), len(c.hand))
			}
			for i, nr := range rules {
				b, sets, err := nr.LowerSets(table, setID+1)
				if err != nil {
					t.Fatal(err)
				}
				setID += uint32(len(sets))
				for _, s := range sets {
					tx.AddAnonymousSet(table, "t", s)
				}
				spec := kernel.RuleSpec{Exprs: b, Source: c.name}
				if nr.Comment != "" {
					// -m comment: nft's comment record, as nft sends it.
					if spec.UserData, err = expr.CommentUserData(nr.Comment); err != nil {
						t.Fatal(err)
					}
					comments++
				}
				tx.AddRule(table, "t", "ours", spec)
				text, skip := handRule(table, c.family, c.hand[i])
				if skip > 0 {
					ported++
				}
				script.WriteString("add rule " + table.String() + " t hand " + text + "\n")
				all = append(all, loaded{c.name, nr, skip})
			}
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatalf("%v: load ctmatch's rules: %v", table, err)
		}
		ktest.Run(t, ns, script.String(), "nft", "-f", "-")
		ours, hand := dumpChain(t, ns, table, "t", "ours"), dumpChain(t, ns, table, "t", "hand")
		if len(ours) != len(all) || len(hand) != len(all) {
			t.Fatalf("%v: %d and %d rules dumped, want %d", table, len(ours), len(hand), len(all))
		}
		for i, l := range all {
			if l.rule.HasLookup() {
				// The kernel names each set; the two rules' sets are
				// compared by their contents, the rules with the names
				// left out.
				if d := sameSets(t, conn, table, "t", ours[i].Exprs, hand[i].Exprs); d != "" {
					t.Errorf("%v %s: %q: %s", table, l.name, l.rule.String(), d)
				}
				withSets++
			}
			if d := sameDump(t, table, unnamed(t, ours[i].Exprs), unnamed(t, hand[i].Exprs), l.skipPre); d != "" {
				t.Errorf("%v %s: %q: %s", table, l.name, l.rule.String(), d)
			}
			if !bytes.Equal(ours[i].Userdata, hand[i].Userdata) {
				t.Errorf("%v %s: %q: the kernel holds userdata % x for ctmatch's rule, % x for nft's", table, l.name, l.rule.String(), ours[i].Userdata, hand[i].Userdata)
			}
			checked++
		}
	}
	if checked == 0 || ported == 0 || comments == 0 || withSets == 0 {
		t.Fatalf("%d rules compared, %d with a port match, %d with a comment, %d with sets: the golden cases did not load", checked, ported, comments, withSets)
	}
	t.Logf("%d rules compared in the kernel's dumps, %d of them with a port match loaded by nft after a protocol test", checked, ported)
}

// unnamed returns a rule's expressions as the kernel dumped them, with the
// name of each lookup's set left out: the kernel names the sets in the
// order they come, so two rules in one table name theirs apart.
func unnamed(t *testing.T, exprs []byte) []byte {
	t.Helper()
	b, err := expr.BindLookups(exprs, func(string, uint32) (string, bool) { return "__set", true })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameSets compares the sets that two rules of table look up, as the
// kernel lists them: their flags, key type and length, size, userdata and
// elements. It returns a description of the first difference, or "".
func sameSets(t *testing.T, c *kernel.Conn, f expr.Family, table string, ours, hand []byte) string {
	t.Helper()
	ctx := context.Background()
	a, err := expr.LookupRefs(ours)
	if err != nil {
		t.Fatal(err)
	}
	b, err := expr.LookupRefs(hand)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) == 0 {
		return fmt.Sprintf("%d and %d lookups", len(a), len(b))
	}
	sets, err := c.Sets(ctx, f, table)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kernel.Set{}
	for _, s := range sets {
		byName[s.Name] = s
	}
	read := func(name string) (kernel.Set, []kernel.SetElem) {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("no set %s in %v %s", name, f, table)
		}
		es, err := c.SetElements(ctx, f, table, name)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(es, func(x, y kernel.SetElem) int { return bytes.Compare(x.Key, y.Key) })
		s.Name, s.Handle = "", 0
		if nftVersion(t).NewForms() {
			s.Size = 0 // nft 1.1.2 sends none (internal/nftforms)
		}
		return s, es
	}
	for k := range a {
		sa, ea := read(a[k].Name)
		sb, eb := read(b[k].Name)
		if diff := cmp.Diff(sb, sa); diff != "" {
			return "set " + strconv.Itoa(k+1) + " (-nft +ctmatch):\n" + diff
		}
		if diff := cmp.Diff(eb, ea); diff != "" {
			return "elements of set " + strconv.Itoa(k+1) + " (-nft +ctmatch):\n" + diff
		}
	}
	return ""
}
