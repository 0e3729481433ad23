package firewall

import (
	"context"
	"errors"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// A Rand that fails makes the operation's error a *Error that wraps it,
// as every operation's error is.
func TestRandFails(t *testing.T) {
	ctx := context.Background()
	f := newFakeConn()
	c := f.client()
	c.rand = failingReader{}
	d := DesiredTable{Family: expr.FamilyInet, Name: "fw", Chains: []DesiredChain{{Name: "c", Rules: []DesiredRule{{Rule: translate(t, expr.FamilyInet, "-j ACCEPT")}}}}}
	var e *Error
	if _, err := c.CreateTables(ctx, []DesiredTable{d}, SyncOptions{}); !errors.As(err, &e) || e.Err == nil || e.Err.Error() != "no entropy" {
		t.Errorf("CreateTables: %v (%T), want a *Error wrapping the reader's", err, err)
	}
	if _, err := c.Sync(ctx, d, SyncOptions{}); !errors.As(err, &e) {
		t.Errorf("Sync: %v (%T), want a *Error", err, err)
	}
	b := c.Batch(ApplyOptions{Create: true})
	if err := b.Add(ctx, Change{Family: expr.FamilyInet, Table: "fw", Chain: "c", Rule: translate(t, expr.FamilyInet, "-j ACCEPT")}); !errors.As(err, &e) {
		t.Errorf("Batch.Add: %v (%T), want a *Error", err, err)
	}
}
