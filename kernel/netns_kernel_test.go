package kernel_test

import (
	"context"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/kerneltest"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/kernel"
)

// A namespace given by descriptor works as one given by path, and each
// namespace has its own ruleset.
func TestKernelNetNSFd(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	other := ktest.Namespace(t)
	ctx := context.Background()
	c, err := kernel.Dial(ctx, kernel.Options{NetNSFd: int(ns.File().Fd())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddTable(expr.FamilyIP6, "byfd", nil)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if out := ktest.Run(t, ns, "", "nft", "list", "tables"); out != "table ip6 byfd\n" {
		t.Errorf("nft list tables in the namespace = %q", out)
	}
	if tables, err := kerneltest.Dial(t, other).Tables(ctx); err != nil || len(tables) != 0 {
		t.Errorf("another namespace lists %+v, %v; want nothing", tables, err)
	}
}
