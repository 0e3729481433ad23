package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// TestKernelGroupRecord loads rules that carry ctmatch's group record next to
// an nft comment — a short rule, whose words fit, and the longest conntrack
// match the syntax allows, whose words do not — and checks that the kernel
// takes them, that nft 1.0.6 still lists them (with the comment), and that
// they read back as the iptables rules they came from.
func TestKernelGroupRecord(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	ctx := context.Background()
	ktest.Run(t, ns, "add table ip6 t\nadd chain ip6 t c\nadd chain ip6 t abcdefghijabcdefghijabcdefgh\n", "nft", "-f", "-")
	full := "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"
	mask := "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff7"
	longest := "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT ! --ctproto 254" +
		" ! --ctorigsrc " + full + "/" + mask + " ! --ctorigdst " + full + "/" + mask +
		" ! --ctreplsrc " + full + "/" + mask + " ! --ctrepldst " + full + "/" + mask +
		" ! --ctorigsrcport 65534:65535 ! --ctorigdstport 65534:65535 ! --ctreplsrcport 65534:65535" +
		" ! --ctrepldstport 65534:65535 ! --ctstatus EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED" +
		" ! --ctexpire 4294967294:4294967295 --ctdir ORIGINAL -g abcdefghijabcdefghijabcdefgh"
	short := "-m conntrack --ctstate NEW,DNAT -j ACCEPT"
	conn := kerneltest.Dial(t, ns)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{}
	var wantRules []expr.Rule
	// (Ids of 64 bits, as Apply gives them: the high half in a TLV of its
	// own next to the record.)
	const shortID, longID = 1<<63 | 1, 1<<63 | 2
	for id, words := range map[uint64]string{shortID: short, longID: longest} {
		r, err := parse.ParseText(words, parse.Options{Family: parse.IPv6})
		if err != nil {
			t.Fatal(err)
		}
		canon := r.String()
		want[id] = canon
		rules, err := compile.Rule(r, compile.Options{Table: expr.FamilyIP6, Family: parse.IPv6, Counter: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, nr := range rules {
			b, err := nr.Lower(expr.FamilyIP6)
			if err != nil {
				t.Fatal(err)
			}
			ud, err := expr.Group{ID: id, Index: i, Count: len(rules), IPv6: true, Words: canon}.UserData("from iptables")
			if err != nil {
				t.Fatal(err)
			}
			if len(ud) > expr.MaxUserData {
				t.Fatalf("userdata of %d bytes", len(ud))
			}
			if _, g, err := expr.ParseUserData(ud); err != nil || id == longID && g.Words != "" {
				t.Fatalf("the longest rule's record (%v) keeps its words (%d bytes): it is not the case this test is for", err, len(canon))
			}
			tx.AddRule(expr.FamilyIP6, "t", "c", kernel.RuleSpec{Exprs: b, UserData: ud, Source: words})
			wantRules = append(wantRules, nr)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	listing := ktest.Run(t, ns, "", "nft", "list", "ruleset")
	if n := strings.Count(listing, `comment "from iptables"`); n != len(wantRules) {
		t.Errorf("nft lists %d rules with the comment, want %d:\n%s", n, len(wantRules), listing)
	}
	got, err := conn.Rules(ctx, expr.FamilyIP6, "t", "c")
	if err != nil {
		t.Fatal(err)
	}
	var listed []compile.Listed
	wordsKept := 0
	for _, r := range got {
		ir, err := expr.Raise(expr.FamilyIP6, r.Exprs)
		if err != nil {
			t.Fatal(err)
		}
		comment, g, err := expr.ParseUserData(r.UserData)
		if err != nil {
			t.Fatalf("userdata of handle %d: %v", r.Handle, err)
		}
		if comment != "from iptables" {
			t.Errorf("comment %q", comment)
		}
		if g.Words != "" {
			wordsKept++
		}
		listed = append(listed, compile.Listed{Rule: ir, Group: g, Grouped: true})
	}
	groups := compile.Chain(listed, expr.FamilyIP6)
	if len(groups) != 2 {
		t.Fatalf("%d groups read back, want 2", len(groups))
	}
	for i, d := range groups {
		if d.Err != nil {
			t.Fatalf("group %d: %v", i, d.Err)
		}
		id := listed[d.First].Group.ID
		back, err := compile.Rule(d.Rule, compile.Options{Table: expr.FamilyIP6, Family: parse.IPv6, Counter: true})
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := parse.ParseText(want[id], parse.Options{Family: parse.IPv6})
		origRules, _ := compile.Rule(orig, compile.Options{Table: expr.FamilyIP6, Family: parse.IPv6, Counter: true})
		if a, b := rulesText(back), rulesText(origRules); a != b {
			t.Errorf("group %d reads back as %q, which compiles to\n%s\nnot\n%s", id, d.Rule, a, b)
		}
	}
	if wordsKept == 0 || wordsKept == len(got) {
		t.Errorf("%d of %d records kept their words: want the short rule's to, the longest rule's not", wordsKept, len(got))
	}
	t.Logf("longest match: %d bytes of canonical words, %d nft rules; %d records kept their words", len(want[longID]), len(got)-len(groupsOf(listed, shortID)), wordsKept)
}

func groupsOf(ls []compile.Listed, id uint64) []compile.Listed {
	var out []compile.Listed
	for _, l := range ls {
		if l.Group.ID == id {
			out = append(out, l)
		}
	}
	return out
}

func rulesText(rs []expr.Rule) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String() + "\n")
	}
	return b.String()
}
