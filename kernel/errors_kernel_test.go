package kernel_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// The errors of the kernel, as kernel/ words them: each names the operation
// and the object, wraps the errno, and says what to do.
func TestKernelErrors(t *testing.T) {
	ns := ktest.Namespace(t)
	c := kerneltest.Dial(t, ns)
	ctx := context.Background()
	const f = expr.FamilyInet
	kernelTableChain(t, c, f)
	exprs := kernelLower(t, f, expr.Rule{Counter: true})

	for _, tc := range []struct {
		name  string
		build func(tx *kernel.Tx)
		errno unix.Errno
		want  string
		hint  string
	}{
		{"no table", func(tx *kernel.Tx) { tx.AddRule(f, "nope", "c", kernel.RuleSpec{Exprs: exprs}) }, unix.ENOENT,
			"add rule inet nope c: no such table inet nope", "create it, or use --create"},
		{"no chain", func(tx *kernel.Tx) { tx.AddRule(f, "fw", "nope", kernel.RuleSpec{Exprs: exprs, Source: "-A nope"}) }, unix.ENOENT,
			"add rule inet fw nope (-A nope): no such chain nope in table inet fw", "create it, or use --create"},
		{"no table for a chain", func(tx *kernel.Tx) { tx.AddChain(f, "nope", "c", nil, nil) }, unix.ENOENT,
			"add chain inet nope c: no such table inet nope", "create it, or use --create"},
		{"table exists", func(tx *kernel.Tx) { tx.AddTable(f, "fw", nil) }, unix.EEXIST,
			"add table inet fw: table inet fw exists", ""},
		{"chain exists", func(tx *kernel.Tx) { tx.AddChain(f, "fw", "c", nil, nil) }, unix.EEXIST,
			"add chain inet fw c: chain c exists in table inet fw", ""},
		{"no handle", func(tx *kernel.Tx) { tx.DeleteRule(f, "fw", "c", 4242) }, unix.ENOENT,
			"delete rule inet fw c handle 4242: no such rule with handle 4242 in chain inet fw c", ""},
		{"no position", func(tx *kernel.Tx) { tx.AddRule(f, "fw", "c", kernel.RuleSpec{Exprs: exprs, Position: 4242}) }, unix.ENOENT,
			"add rule inet fw c: no rule with handle 4242 to add after in chain inet fw c", ""},
		{"no chain type", func(tx *kernel.Tx) {
			tx.AddChain(f, "fw", "d", &kernel.BaseChain{Type: "bogus", Hook: kernel.HookInput}, nil)
		}, unix.ENOENT, `add chain inet fw d: the kernel lacks chain type "bogus": no such file or directory`, ""},
		// A goto that closes a loop of jumps from base chain c: nf_tables
		// follows them from the base chain and runs out of its jump
		// stack (EMLINK, "too many links").
		{"jump loop", func(tx *kernel.Tx) {
			tx.AddChain(f, "fw", "a", nil, nil)
			tx.AddChain(f, "fw", "b", nil, nil)
			tx.AddRule(f, "fw", "c", kernel.RuleSpec{Exprs: kernelLower(t, f, expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "a"}})})
			tx.AddRule(f, "fw", "a", kernel.RuleSpec{Exprs: kernelLower(t, f, expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictJump, Chain: "b"}})})
			tx.AddRule(f, "fw", "b", kernel.RuleSpec{Exprs: kernelLower(t, f, expr.Rule{Verdict: expr.Verdict{Kind: expr.VerdictGoto, Chain: "a"}})})
		}, unix.EMLINK, "add rule inet fw b: the rule's goto to chain a makes a loop of jumps through chain b, or jumps nested deeper than the kernel's 16 chains, from a base chain: too many links; the kernel refused the whole transaction, nothing was changed", ""},
		{"unknown ct key", func(tx *kernel.Tx) { tx.AddRule(f, "fw", "c", kernel.RuleSpec{Exprs: kernelCtExprs(255)}) }, unix.EOPNOTSUPP,
			"add rule inet fw c: expression 1 (ct): the kernel lacks a feature this rule needs: operation not supported", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tc.build(tx)
			_, err = tx.Commit(ctx)
			if err == nil || err.Error() != tc.want || !errors.Is(err, tc.errno) {
				t.Errorf("error:\n got %v\nwant %s (wrapping %v)", err, tc.want, tc.errno)
			}
			if loop := errors.Is(err, kernel.ErrJumpLoop); loop != (tc.errno == unix.EMLINK) {
				t.Errorf("errors.Is(err, ErrJumpLoop) = %v", loop)
			}
			if ke := (*kernel.Error)(nil); errors.As(err, &ke) && ke.Hint != tc.hint {
				t.Errorf("hint %q, want %q", ke.Hint, tc.hint)
			}
		})
	}

	for _, tc := range []struct {
		list func() error
		want string
	}{
		{func() error { _, err := c.Chains(ctx, f, "nope"); return err }, "list chains inet nope: no such table inet nope"},
		{func() error { _, err := c.Rules(ctx, f, "nope", "c"); return err }, "list rules inet nope c: no such table inet nope"},
		{func() error { _, err := c.Rules(ctx, f, "fw", "nope"); return err }, "list rules inet fw nope: no such chain nope in table inet fw"},
	} {
		if err := tc.list(); err == nil || err.Error() != tc.want || !errors.Is(err, unix.ENOENT) {
			t.Errorf("error:\n got %v\nwant %s (wrapping ENOENT)", err, tc.want)
		}
	}
}

const epermChildEnv = "CTMATCH_KERNEL_EPERM_CHILD"

// Without CAP_NET_ADMIN the kernel refuses everything with EPERM, and
// kernel/ says which capability is missing. The test runs its own binary
// again as a child without CAP_NET_ADMIN (setpriv drops it from the
// inheritable and bounding sets, so the exec does not give it back), with
// the namespace passed as descriptor 3.
func TestKernelEPERM(t *testing.T) {
	if os.Getenv(epermChildEnv) == "1" {
		kernelEPERMChild()
		return
	}
	ns := ktest.Namespace(t, "setpriv")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--",
		exe, "-test.run=^TestKernelEPERM$", "-test.count=1")
	cmd.Env = append(os.Environ(), epermChildEnv+"=1")
	cmd.ExtraFiles = []*os.File{ns.File()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "\t"); ok && strings.HasPrefix(k, "eperm-") {
			got[k] = v
		}
	}
	want := map[string]string{
		"eperm-caps":   "net_admin dropped",
		"eperm-tables": "list tables: operation not permitted (needs CAP_NET_ADMIN) EPERM=true",
		"eperm-begin":  "get generation: operation not permitted (needs CAP_NET_ADMIN) EPERM=true",
		"eperm-commit": "add rule inet ctmatch input: operation not permitted (needs CAP_NET_ADMIN) EPERM=true",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %q\nwant %q\nchild output:\n%s", k, got[k], w, out)
		}
	}
}

// kernelEPERMChild runs in the child: it reports each error on a line of
// its own, "eperm-NAME<TAB>error EPERM=bool".
func kernelEPERMChild() {
	report := func(name string, err error) {
		fmt.Printf("eperm-%s\t%v EPERM=%v\n", name, err, errors.Is(err, unix.EPERM))
	}
	// CAP_NET_ADMIN is capability 12: bit 12 of the effective set.
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		var eff uint64
		if _, err := fmt.Sscanf(line, "CapEff:\t%x", &eff); err == nil {
			if eff&(1<<unix.CAP_NET_ADMIN) == 0 {
				fmt.Printf("eperm-caps\tnet_admin dropped\n")
			} else {
				fmt.Printf("eperm-caps\tnet_admin still effective\n")
			}
		}
	}
	ctx := context.Background()
	c, err := kernel.Dial(ctx, kernel.Options{NetNSFd: 3})
	if err != nil {
		fmt.Printf("eperm-dial\t%v\n", err)
		return
	}
	defer c.Close()
	_, err = c.Tables(ctx)
	report("tables", err)
	_, err = c.Begin(ctx)
	report("begin", err)
	tx := c.BeginAt(0)
	tx.AddRule(expr.FamilyInet, "ctmatch", "input", kernel.RuleSpec{Exprs: []byte{}})
	_, err = tx.Commit(ctx)
	report("commit", err)
}
