package firewall

import (
	"context"
	"errors"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// sentinels are the kinds of error a Client's operations wrap.
var sentinels = map[string]error{
	"ErrNoTable":          ErrNoTable,
	"ErrNoChain":          ErrNoChain,
	"ErrChainDiffers":     ErrChainDiffers,
	"ErrIptablesTable":    ErrIptablesTable,
	"ErrNoPosition":       ErrNoPosition,
	"ErrNoRule":           ErrNoRule,
	"ErrInvalidChange":    ErrInvalidChange,
	"ErrConcurrentChange": ErrConcurrentChange,
	"ErrNotOwned":         ErrNotOwned,
	"ErrNoObject":         ErrNoObject,
	"ErrTableExists":      ErrTableExists,
	"ErrForeignChains":    ErrForeignChains,
}

// Every operation wraps, for each way it can fail that a sentinel names,
// that sentinel and no other (errors.Is), in an *Error (or, for the
// kernel's refusal of a stale transaction, a *kernel.Error). The test
// fails when an operation lacks a case for a sentinel it can return
// (want, below).
func TestSentinels(t *testing.T) {
	const fam = expr.FamilyInet
	ctx := context.Background()
	// The ruleset every case starts from: table inet fw (ctmatch's) with
	// a regular chain input holding one group, and table ip filter as
	// iptables-nft leaves it.
	type env struct {
		f *fakeConn
		c *Client
		h uint64 // the handle of the rule in inet fw input
	}
	newEnv := func(t *testing.T) env {
		f := newFakeConn()
		c := f.client()
		if _, err := c.Apply(ctx, []Change{{Family: fam, Table: "fw", Chain: "input", Rule: translate(t, fam, "-m conntrack --ctstate NEW")}}, ApplyOptions{Create: true}); err != nil {
			t.Fatal(err)
		}
		f.addTable(expr.FamilyIP, "filter", nil).addChain("INPUT", &kernel.BaseChain{Type: "filter", Hook: kernel.HookInput})
		f.addRule(f.table(expr.FamilyIP, "filter").chain("INPUT"), xtRule(), nil, nil)
		return env{f, c, f.table(fam, "fw").chain("input").rules[0].Handle}
	}
	change := func(t *testing.T, table, chain, words string) Change {
		return Change{Family: fam, Table: table, Chain: chain, Rule: translate(t, fam, words)}
	}
	const accept = "-m conntrack --ctstate ESTABLISHED -j ACCEPT"
	// conflict makes the next commit meet a change by another process.
	conflict := func(e env) { e.f.OnCommit(func() { e.f.Touch(); e.f.OnCommit(nil) }) }
	// moved changes what a batch read (a chain added to its table) after
	// it was planned.
	moved := func(e env) { e.f.table(fam, "fw").addChain("other", nil); e.f.Touch() }

	type tcase struct {
		op, sentinel string
		run          func(t *testing.T, e env) error
	}
	var cases []tcase
	for _, op := range []string{"Apply add", "Apply insert", "Batch.Add"} {
		run := func(build func(t *testing.T, e env) Change, o ApplyOptions) func(*testing.T, env) error {
			return func(t *testing.T, e env) error {
				ch := build(t, e)
				ch.Insert = op == "Apply insert"
				if op == "Batch.Add" {
					return e.c.Batch(o).Add(ctx, ch)
				}
				_, err := e.c.Apply(ctx, []Change{ch}, o)
				return err
			}
		}
		cases = append(cases,
			tcase{op, "ErrNoTable", run(func(t *testing.T, e env) Change { return change(t, "nope", "input", accept) }, ApplyOptions{})},
			tcase{op, "ErrNoChain", run(func(t *testing.T, e env) Change { return change(t, "fw", "nope", accept) }, ApplyOptions{})},
			tcase{op, "ErrNoChain", run(func(t *testing.T, e env) Change {
				return change(t, "fw", "input", "-m conntrack --ctstate NEW -j nope")
			}, ApplyOptions{})},
			// Create would make INPUT a base chain; fw has it as
			// a regular chain.
			tcase{op, "ErrChainDiffers", run(func(t *testing.T, e env) Change {
				e.f.table(fam, "fw").addChain("INPUT", nil)
				return change(t, "fw", "INPUT", accept)
			}, ApplyOptions{Create: true})},
			tcase{op, "ErrIptablesTable", run(func(t *testing.T, e env) Change {
				return Change{Family: expr.FamilyIP, Table: "filter", Chain: "INPUT", Rule: translate(t, expr.FamilyIP, accept)}
			}, ApplyOptions{})},
			tcase{op, "ErrNoPosition", run(func(t *testing.T, e env) Change {
				ch := change(t, "fw", "input", accept)
				ch.Index = 5
				return ch
			}, ApplyOptions{})},
			tcase{op, "ErrNoPosition", run(func(t *testing.T, e env) Change {
				ch := change(t, "fw", "input", accept)
				ch.Handle = 4242
				return ch
			}, ApplyOptions{})},
			tcase{op, "ErrInvalidChange", run(func(t *testing.T, e env) Change { return Change{Family: fam, Table: "fw", Chain: "input"} }, ApplyOptions{})},
			tcase{op, "ErrInvalidChange", run(func(t *testing.T, e env) Change {
				return Change{Family: expr.FamilyIP6, Table: "fw", Chain: "input", Rule: translate(t, fam, accept)}
			}, ApplyOptions{})},
		)
		if op != "Batch.Add" {
			cases = append(cases, tcase{op, "ErrConcurrentChange", func(t *testing.T, e env) error {
				conflict(e)
				return run(func(t *testing.T, e env) Change { return change(t, "fw", "input", accept) }, ApplyOptions{})(t, e)
			}})
		}
	}
	cases = append(cases,
		tcase{"Apply add", "ErrInvalidChange", func(t *testing.T, e env) error {
			_, err := e.c.Apply(ctx, []Change{change(t, "fw", "input", accept)}, ApplyOptions{Retry: -1})
			return err
		}},
		tcase{"Apply add", "ErrConcurrentChange", func(t *testing.T, e env) error {
			ch := change(t, "fw", "input", accept)
			ch.Index = 1 // reads the chain's groups
			e.f.OnCommit(nil)
			_, err := e.c.Apply(ctx, []Change{ch}, ApplyOptions{Retry: 2})
			if err != nil {
				return err
			}
			// Three conflicts are one more than two retries.
			n := 3
			e.f.OnCommit(func() {
				if n > 0 {
					n--
					e.f.Touch()
				}
			})
			_, err = e.c.Apply(ctx, []Change{ch}, ApplyOptions{Retry: 2})
			return err
		}},
		tcase{"Batch.Add", "ErrInvalidChange", func(t *testing.T, e env) error {
			b := e.c.Batch(ApplyOptions{})
			if err := b.Add(ctx, change(t, "fw", "input", accept)); err != nil {
				return err
			}
			if _, err := b.Commit(ctx); err != nil {
				return err
			}
			return b.Add(ctx, change(t, "fw", "input", accept))
		}},
	)
	for _, check := range []bool{false, true} {
		op := "Batch.Commit"
		if check {
			op = "Batch.Check"
		}
		send := func(b *Batch) error {
			var err error
			if check {
				_, err = b.Check(ctx)
			} else {
				_, err = b.Commit(ctx)
			}
			return err
		}
		cases = append(cases,
			tcase{op, "ErrConcurrentChange", func(t *testing.T, e env) error {
				b := e.c.Batch(ApplyOptions{})
				if err := b.Add(ctx, change(t, "fw", "input", accept)); err != nil {
					return err
				}
				moved(e)
				return send(b)
			}},
			// A failed Add is returned again.
			tcase{op, "ErrNoChain", func(t *testing.T, e env) error {
				b := e.c.Batch(ApplyOptions{})
				b.Add(ctx, change(t, "fw", "nope", accept))
				return send(b)
			}},
			tcase{op, "ErrNoTable", func(t *testing.T, e env) error {
				b := e.c.Batch(ApplyOptions{})
				b.Add(ctx, change(t, "nope", "input", accept))
				return send(b)
			}},
		)
		if !check {
			cases = append(cases,
				tcase{op, "ErrConcurrentChange", func(t *testing.T, e env) error {
					b := e.c.Batch(ApplyOptions{})
					if err := b.Add(ctx, change(t, "fw", "input", accept)); err != nil {
						return err
					}
					conflict(e)
					return send(b)
				}},
				tcase{op, "ErrInvalidChange", func(t *testing.T, e env) error {
					b := e.c.Batch(ApplyOptions{})
					if err := b.Add(ctx, change(t, "fw", "input", accept)); err != nil {
						return err
					}
					if err := send(b); err != nil {
						return err
					}
					return send(b)
				}})
		}
	}
	del := func(f expr.Family, table, chain string, handle func(env) uint64, o DeleteOptions) func(*testing.T, env) error {
		return func(t *testing.T, e env) error {
			_, err := e.c.Delete(ctx, f, table, chain, handle(e), o)
			return err
		}
	}
	ours := func(e env) uint64 { return e.h }
	cases = append(cases,
		tcase{"Delete", "ErrNoTable", del(fam, "nope", "input", ours, DeleteOptions{})},
		tcase{"Delete", "ErrNoChain", del(fam, "fw", "nope", ours, DeleteOptions{})},
		tcase{"Delete", "ErrNoRule", del(fam, "fw", "input", func(env) uint64 { return 4242 }, DeleteOptions{})},
		tcase{"Delete", "ErrInvalidChange", del(fam, "fw", "input", func(env) uint64 { return 0 }, DeleteOptions{})},
		tcase{"Delete", "ErrIptablesTable", del(expr.FamilyIP, "filter", "INPUT", func(e env) uint64 {
			return e.f.table(expr.FamilyIP, "filter").chain("INPUT").rules[0].Handle
		}, DeleteOptions{})},
		tcase{"Delete", "ErrConcurrentChange", func(t *testing.T, e env) error {
			conflict(e)
			return del(fam, "fw", "input", ours, DeleteOptions{})(t, e)
		}},
		tcase{"List", "ErrNoTable", func(t *testing.T, e env) error {
			_, err := e.c.List(ctx, Scope{Family: fam, Table: "nope"})
			return err
		}},
		tcase{"List", "ErrNoChain", func(t *testing.T, e env) error {
			_, err := e.c.List(ctx, Scope{Family: fam, Table: "fw", Chain: "nope"})
			return err
		}},
		tcase{"List", "ErrInvalidChange", func(t *testing.T, e env) error {
			_, err := e.c.List(ctx, Scope{Chain: "input"})
			return err
		}},
	)
	// Tables, chains and named objects (ChangeTables, Sync, Objects).
	tables := func(o TableOptions, changes ...TableChange) func(*testing.T, env) error {
		return func(t *testing.T, e env) error {
			_, err := e.c.ChangeTables(ctx, changes, o)
			return err
		}
	}
	helper := &kernel.CtHelper{Helper: "ftp", L4Proto: 6}
	syncObjects := func(f expr.Family, table string, objs ...DesiredObject) func(*testing.T, env) error {
		return func(t *testing.T, e env) error {
			_, err := e.c.Sync(ctx, DesiredTable{Family: f, Name: table, Chains: []DesiredChain{{Name: "input"}}, Objects: objs}, SyncOptions{})
			return err
		}
	}
	cases = append(cases,
		tcase{"ChangeTables", "ErrNoTable", tables(TableOptions{}, TableChange{Op: CreateObject, Family: fam, Table: "nope", Object: "h", CtHelper: helper})},
		tcase{"ChangeTables", "ErrNoChain", tables(TableOptions{}, TableChange{Op: FlushChain, Family: fam, Table: "fw", Chain: "nope"})},
		tcase{"ChangeTables", "ErrNoObject", tables(TableOptions{}, TableChange{Op: DeleteObject, Family: fam, Table: "fw", Object: "h"})},
		tcase{"ChangeTables", "ErrNotOwned", tables(TableOptions{}, TableChange{Op: CreateObject, Family: expr.FamilyIP, Table: "filter", Object: "h", CtHelper: helper})},
		tcase{"ChangeTables", "ErrInvalidChange", tables(TableOptions{}, TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: "1h", CtHelper: helper})},
		tcase{"ChangeTables", "ErrConcurrentChange", func(t *testing.T, e env) error {
			conflict(e)
			return tables(TableOptions{}, TableChange{Op: CreateObject, Family: fam, Table: "fw", Object: "h", CtHelper: helper})(t, e)
		}},
		tcase{"Sync", "ErrNotOwned", syncObjects(expr.FamilyIP, "filter")},
		tcase{"Sync", "ErrInvalidChange", syncObjects(fam, "fw", DesiredObject{Name: "h"})},
		tcase{"Sync", "ErrConcurrentChange", func(t *testing.T, e env) error {
			conflict(e)
			return syncObjects(fam, "fw", DesiredObject{Name: "h", CtHelper: helper})(t, e)
		}},
		tcase{"Objects", "ErrNoTable", func(t *testing.T, e env) error {
			_, err := e.c.Objects(ctx, fam, "nope")
			return err
		}},
	)
	// WriteTables: inet fw is ctmatch's, ip filter iptables-nft's with a
	// chain INPUT.
	write := func(o WriteOptions, ds ...DesiredTable) func(*testing.T, env) error {
		return func(t *testing.T, e env) error {
			_, err := e.c.WriteTables(ctx, ds, o)
			return err
		}
	}
	fw := DesiredTable{Family: fam, Name: "fw", Chains: []DesiredChain{{Name: "input"}}}
	other := DesiredTable{Family: expr.FamilyIP, Name: "filter", Chains: []DesiredChain{{Name: "other"}}}
	cases = append(cases,
		tcase{"WriteTables", "ErrTableExists", write(WriteOptions{Takeover: true}, fw)},
		tcase{"WriteTables", "ErrTableExists", write(WriteOptions{Replace: true}, other)},
		tcase{"WriteTables", "ErrForeignChains", write(WriteOptions{Takeover: true}, other)},
		tcase{"WriteTables", "ErrInvalidChange", write(WriteOptions{}, fw, fw)},
		tcase{"WriteTables", "ErrNoChain", func(t *testing.T, e env) error {
			d := DesiredTable{Family: fam, Name: "new", Chains: []DesiredChain{{Name: "input", Rules: []DesiredRule{{Rule: translate(t, fam, "-j nowhere")}}}}}
			_, err := e.c.WriteTables(ctx, []DesiredTable{d}, WriteOptions{})
			return err
		}},
		tcase{"WriteTables", "ErrConcurrentChange", func(t *testing.T, e env) error {
			conflict(e)
			_, err := e.c.WriteTables(ctx, []DesiredTable{fw}, WriteOptions{Replace: true})
			return err
		}},
	)

	// What each operation can return: a case for each is required.
	want := map[string][]string{
		"Apply add":    {"ErrNoTable", "ErrNoChain", "ErrChainDiffers", "ErrIptablesTable", "ErrNoPosition", "ErrInvalidChange", "ErrConcurrentChange"},
		"Apply insert": {"ErrNoTable", "ErrNoChain", "ErrChainDiffers", "ErrIptablesTable", "ErrNoPosition", "ErrInvalidChange", "ErrConcurrentChange"},
		"Batch.Add":    {"ErrNoTable", "ErrNoChain", "ErrChainDiffers", "ErrIptablesTable", "ErrNoPosition", "ErrInvalidChange"},
		"Batch.Commit": {"ErrNoTable", "ErrNoChain", "ErrInvalidChange", "ErrConcurrentChange"},
		"Batch.Check":  {"ErrNoTable", "ErrNoChain", "ErrConcurrentChange"},
		"Delete":       {"ErrNoTable", "ErrNoChain", "ErrNoRule", "ErrIptablesTable", "ErrInvalidChange", "ErrConcurrentChange"},
		"List":         {"ErrNoTable", "ErrNoChain", "ErrInvalidChange"},
		"ChangeTables": {"ErrNoTable", "ErrNoChain", "ErrNoObject", "ErrNotOwned", "ErrInvalidChange", "ErrConcurrentChange"},
		"Sync":         {"ErrNotOwned", "ErrInvalidChange", "ErrConcurrentChange"},
		"Objects":      {"ErrNoTable"},
		"WriteTables":  {"ErrTableExists", "ErrForeignChains", "ErrInvalidChange", "ErrNoChain", "ErrConcurrentChange"},
	}
	covered := map[[2]string]bool{}
	for _, tc := range cases {
		covered[[2]string{tc.op, tc.sentinel}] = true
		t.Run(tc.op+"/"+tc.sentinel, func(t *testing.T) {
			err := tc.run(t, newEnv(t))
			if !errors.Is(err, sentinels[tc.sentinel]) {
				t.Fatalf("error %v, want %s", err, tc.sentinel)
			}
			for name, s := range sentinels {
				if name != tc.sentinel && errors.Is(err, s) {
					t.Errorf("error %v is %s too", err, name)
				}
			}
			var fe *Error
			var ke *kernel.Error
			if !errors.As(err, &fe) && !(tc.sentinel == "ErrConcurrentChange" && errors.As(err, &ke)) && !errors.Is(err, kernel.ErrConcurrentChange) {
				t.Errorf("error %v (%T) is not an *Error", err, err)
			}
		})
	}
	for op, names := range want {
		for _, s := range names {
			if !covered[[2]string{op, s}] {
				t.Errorf("no case of %s returning %s", op, s)
			}
		}
	}
}
