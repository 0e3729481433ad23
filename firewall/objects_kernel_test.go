package firewall

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// ct helper objects in the kernel: ChangeTables creates one with its table
// and chain in one transaction, nft lists it; the kernel refuses to delete
// it while a rule (nft's `ct helper set`) uses it, with EBUSY, and takes
// the deletion after a flush of that chain in the same transaction. Sync
// creates, keeps (sending nothing), recreates and deletes a desired
// table's helpers, one transaction each, and Objects lists them back.
func TestKernelObjects(t *testing.T) {
	ns, c := kernelClient(t)
	ctx := context.Background()
	conn := kerneltest.Dial(t, ns)
	gen := func() uint32 {
		t.Helper()
		g, err := conn.Generation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	list := func() string {
		t.Helper()
		return ktest.Run(t, ns, "", "nft", "list", "table", "inet", "fw")
	}
	const fam = expr.FamilyInet
	before := gen()
	if _, err := c.ChangeTables(ctx, []TableChange{
		{Op: CreateTable, Family: fam, Table: "fw"},
		{Op: CreateObject, Family: fam, Table: "fw", Object: "ftp-std", CtHelper: ftpHelper()},
		{Op: CreateChain, Family: fam, Table: "fw", Chain: "helped", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward}},
	}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "\tct helper ftp-std {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto inet\n\t}\n"
	if got := list(); gen()-before != 1 || !strings.Contains(got, want) {
		t.Fatalf("%d transactions; nft lists:\n%s\nwant it to hold:\n%s", gen()-before, got, want)
	}
	ktest.Run(t, ns, "", "nft", "add", "rule", "inet", "fw", "helped", "tcp", "dport", "21", "ct", "helper", "set", `"ftp-std"`)
	objs, err := c.Objects(ctx, fam, "fw")
	if err != nil || len(objs) != 1 || objs[0].Name != "ftp-std" || objs[0].Use != 1 {
		t.Fatalf("objects: %+v (%v), want ftp-std used by one rule", objs, err)
	}
	del := TableChange{Op: DeleteObject, Family: fam, Table: "fw", Object: "ftp-std"}
	_, err = c.ChangeTables(ctx, []TableChange{del}, TableOptions{})
	if want := "delete ct helper inet fw ftp-std: ct helper ftp-std in table inet fw is in use by a rule (ct helper set): device or resource busy"; !errors.Is(err, unix.EBUSY) || err.Error() != want {
		t.Errorf("deleting a helper in use: %v, want %s", err, want)
	}
	if _, err := c.ChangeTables(ctx, []TableChange{{Op: FlushChain, Family: fam, Table: "fw", Chain: "helped"}, del}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := list(); strings.Contains(got, "ct helper") {
		t.Errorf("after the deletion nft lists:\n%s", got)
	}

	d := DesiredTable{Family: fam, Name: "fw",
		Chains:  []DesiredChain{{Name: "helped", Base: &kernel.BaseChain{Type: "filter", Hook: kernel.HookForward}}},
		Objects: []DesiredObject{{Name: "ftp", CtHelper: ftpHelper()}, {Name: "sip6", CtHelper: &kernel.CtHelper{Helper: "sip", L4Proto: unix.IPPROTO_UDP, L3Proto: unix.NFPROTO_IPV6}}},
	}
	fresh, err := Dial(ctx, DialOptions{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for i, step := range []struct {
		objs         []DesiredObject
		transactions uint32
		nft          string // what nft lists of the helpers
		before       func()
	}{
		{d.Objects, 1, "ct helper ftp {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto inet\n\t}\n\n\tct helper sip6 {\n\t\ttype \"sip\" protocol udp\n\t\tl3proto ip6\n\t}", nil},
		{d.Objects, 0, "", nil},
		// A rule nft adds uses ftp, which changes: the transaction
		// flushes the chain (the rule is not desired) before it deletes
		// ftp and creates it again, or the kernel would refuse (EBUSY).
		{[]DesiredObject{{Name: "ftp", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_IPV4}}}, 1,
			"ct helper ftp {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto ip\n\t}\n\n\tchain helped {\n\t\ttype filter hook forward priority filter; policy accept;\n\t}",
			func() {
				ktest.Run(t, ns, "", "nft", "add", "rule", "inet", "fw", "helped", "tcp", "dport", "21", "ct", "helper", "set", `"ftp"`)
			}},
		{[]DesiredObject{{Name: "ftp", CtHelper: &kernel.CtHelper{Helper: "ftp", L4Proto: unix.IPPROTO_TCP, L3Proto: unix.NFPROTO_IPV4}}}, 0, "", nil},
		{nil, 1, "table inet fw {\n\tchain", nil},
	} {
		d.Objects = step.objs
		if step.before != nil {
			step.before()
		}
		clients := []*Client{c}
		if step.transactions == 0 {
			clients = append(clients, fresh) // (reads the table again)
		}
		for _, cl := range clients {
			before := gen()
			res, err := cl.Sync(ctx, d, SyncOptions{})
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if n := gen() - before; n != step.transactions || res.Sent != (n > 0) {
				t.Errorf("step %d: %d transactions (sent %v), want %d; diff:\n%s", i, n, res.Sent, step.transactions, res.Diff)
			}
		}
		if got := list(); !strings.Contains(got, step.nft) {
			t.Errorf("step %d: nft lists:\n%s\nwant it to hold:\n%s", i, got, step.nft)
		}
		objs, err := c.Objects(ctx, fam, "fw")
		if err != nil || len(objs) != len(step.objs) {
			t.Errorf("step %d: objects %+v (%v), want %d", i, objs, err, len(step.objs))
		}
	}
}
