package firewall

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ctmatch/ctmatch/expr"
)

// A nil or zero Client, and a zero Batch, have no connection: every
// operation returns ErrNoClient at once, none panics or waits.
func TestZeroClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := DesiredTable{Family: expr.FamilyInet, Name: "fw"}
	ops := func(c *Client) map[string]error {
		out := map[string]error{}
		_, out["Apply"] = c.Apply(ctx, []Change{{Family: expr.FamilyInet, Table: "fw", Chain: "in", Rule: translate(t, expr.FamilyInet, "-j ACCEPT")}}, ApplyOptions{})
		_, out["Delete"] = c.Delete(ctx, expr.FamilyInet, "fw", "in", 1, DeleteOptions{})
		_, out["ChangeTables"] = c.ChangeTables(ctx, []TableChange{{Op: CreateTable, Family: expr.FamilyInet, Table: "fw"}}, TableOptions{})
		_, out["List"] = c.List(ctx, Scope{})
		_, out["Objects"] = c.Objects(ctx, expr.FamilyInet, "fw")
		_, out["WriteTables"] = c.WriteTables(ctx, []DesiredTable{d}, WriteOptions{})
		_, out["CreateTables"] = c.CreateTables(ctx, []DesiredTable{d}, SyncOptions{})
		_, out["Diff"] = c.Diff(ctx, d, SyncOptions{})
		_, out["Sync"] = c.Sync(ctx, d, SyncOptions{})
		out["Batch.Add"] = c.Batch(ApplyOptions{}).Add(ctx, Change{Family: expr.FamilyInet, Table: "fw", Chain: "in", Rule: translate(t, expr.FamilyInet, "-j ACCEPT")})
		_, out["Batch.Commit"] = c.Batch(ApplyOptions{}).Commit(ctx)
		out["Close"] = c.Close()
		return out
	}
	for name, c := range map[string]*Client{"nil": nil, "zero": {}} {
		for op, err := range ops(c) {
			if !errors.Is(err, ErrNoClient) {
				t.Errorf("%s Client: %s: %v, want ErrNoClient", name, op, err)
			}
		}
	}
	var b Batch
	if err := b.Add(ctx, Change{}); !errors.Is(err, ErrNoClient) {
		t.Errorf("zero Batch: Add: %v, want ErrNoClient", err)
	}
	if _, err := b.Commit(ctx); !errors.Is(err, ErrNoClient) {
		t.Errorf("zero Batch: Commit: %v, want ErrNoClient", err)
	}
}
