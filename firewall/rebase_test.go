package firewall

import (
	"context"
	"errors"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// A change to the ruleset while a batch is being built fails it only when
// it touches what the batch is based on: the batch reads again what it read,
// and then has the kernel check the transaction at the new generation.
func TestBatchCurrent(t *testing.T) {
	ctx := context.Background()
	const fam = expr.FamilyIP
	rule := translate(t, fam, "-m conntrack --ctstate NEW")
	aRule := func(f *fakeConn) { f.addRule(f.table(fam, "fw").chain("in"), lowered(t, rule)[0], nil, nil) }
	for _, tc := range []struct {
		name   string
		index  int // of the change, which then needs the chain's groups
		change func(f *fakeConn)
		want   string // "" for success
	}{
		{"another table", 0, func(f *fakeConn) { f.addTable(fam, "other", nil) }, ""},
		{"another chain's rules", 0, func(f *fakeConn) { f.addRule(f.table(fam, "fw").chain("out"), lowered(t, rule)[0], nil, nil) }, ""},
		// At the end, or at the top, a rule goes to the same place whatever
		// the chain holds: the batch never read it.
		{"a rule of the chain, adding at the end", 0, aRule, ""},
		{"a rule of the chain, adding after a group", 1, aRule,
			"add rule ip fw in (-m conntrack --ctstate NEW): concurrent change: chain ip fw in changed after generation 10, which the transaction is based on; nothing was changed"},
		{"a new chain in the table", 0, func(f *fakeConn) { f.table(fam, "fw").addChain("x", nil) },
			"add rule ip fw in (-m conntrack --ctstate NEW): concurrent change: the chains of table ip fw changed after generation 10, which the transaction is based on; nothing was changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeConn()
			tab := f.addTable(fam, "fw", nil)
			tab.addChain("in", nil)
			tab.addChain("out", nil)
			aRule(f)
			b := f.client().Batch(ApplyOptions{})
			if err := b.Add(ctx, Change{Family: fam, Table: "fw", Chain: "in", Rule: rule, Index: tc.index}); err != nil {
				t.Fatal(err)
			}
			tc.change(f)
			f.Touch()
			_, err := b.Commit(ctx)
			switch {
			case tc.want == "" && (err != nil || f.commits() != 1):
				t.Errorf("commit: %v (%d sent), want success", err, f.commits())
			case tc.want != "" && (!errors.Is(err, kernel.ErrConcurrentChange) || err.Error() != tc.want || f.commits() != 0):
				t.Errorf("commit: %v (%d sent)\nwant %s, nothing sent", err, f.commits(), tc.want)
			case tc.want != "" && hintOf(err) != "read the ruleset again and retry":
				t.Errorf("hint %q, want the advice to read again and retry", hintOf(err))
			}
		})
	}
}
