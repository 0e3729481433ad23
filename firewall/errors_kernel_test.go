package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// On the kernel, as on the fake (TestSentinels): a Delete in a missing
// table or chain is ErrNoTable or ErrNoChain, not a bare ENOENT.
func TestKernelDeleteMissing(t *testing.T) {
	_, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyInet
	if _, err := c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW")}}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		table, chain string
		want         error
		msg          string
	}{
		{"nope", "input", ErrNoTable, "delete rule inet nope input: no such table inet nope"},
		{"fw", "nope", ErrNoChain, "delete rule inet fw nope: no such chain nope in table inet fw"},
	} {
		_, err := c.Delete(ctx, fam, tc.table, tc.chain, 1, DeleteOptions{})
		if !errors.Is(err, tc.want) || err.Error() != tc.msg {
			t.Errorf("Delete in %s %s: %v, want %v: %s", tc.table, tc.chain, err, tc.want, tc.msg)
		}
	}
}

// A jump that closes a loop of jumps reachable from a base chain: the
// kernel refuses it with EMLINK ("too many links"); the error is
// kernel.ErrJumpLoop, names the rule's chain and the chain it jumps to, and
// says what the kernel counts.
func TestKernelJumpLoop(t *testing.T) {
	_, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyInet
	ch := func(chain, words string) Change {
		return Change{Family: fam, Table: "fw", Chain: chain, Rule: translate(t, fam, words)}
	}
	if _, err := c.Apply(ctx, []Change{
		ch("a", "-m conntrack --ctstate NEW"),
		ch("b", "-m conntrack --ctstate NEW -j a"),
		ch("input", "-m conntrack --ctstate NEW -j b"),
	}, ApplyOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(ctx, []Change{ch("a", "-m conntrack --ctstate ESTABLISHED -j b")}, ApplyOptions{})
	t.Logf("%v (hint %q)", err, Hint(err))
	if !errors.Is(err, ErrJumpLoop) || !errors.Is(err, kernel.ErrJumpLoop) || !errors.Is(err, unix.EMLINK) {
		t.Fatalf("error %v, want kernel.ErrJumpLoop wrapping EMLINK", err)
	}
	for _, want := range []string{"add rule inet fw a", "jump to chain b", "loop"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A NAT statement in a chain of type filter: the kernel refuses it with
// EOPNOTSUPP, which says the chain's type, not a missing feature.
func TestKernelNATInFilterChain(t *testing.T) {
	_, c := kernelClient(t)
	ctx := context.Background()
	const fam = expr.FamilyIP
	if _, err := c.ChangeTables(ctx, []TableChange{
		{Op: CreateTable, Family: fam, Table: "x"},
		{Op: CreateChain, Family: fam, Table: "x", Chain: "POSTROUTING", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookPostrouting, Priority: 0}},
	}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(ctx, []Change{{Family: fam, Table: "x", Chain: "POSTROUTING", Rule: translate(t, fam, "-t nat -o eth0 -j MASQUERADE")}}, ApplyOptions{})
	if !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "only in a chain of type nat, or a regular chain reached only from such chains, and chain POSTROUTING is not one") {
		t.Errorf("MASQUERADE in a filter chain: %v", err)
	}
}
