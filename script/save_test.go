package script_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

// readSave reads a whole file with a SaveReader and returns its lines and
// the first error with where it is.
func readSave(text string, v6 bool) ([]*script.SaveLine, *parse.Error, parse.Position) {
	o := parse.Options{Family: parse.IPv4}
	if v6 {
		o.Family = parse.IPv6
	}
	r := script.NewSaveReader(o)
	var out []*script.SaveLine
	lines := strings.SplitAfter(text, "\n")
	for i, s := range lines {
		if s == "" {
			continue
		}
		at := parse.Position{File: "rules.v4", Line: i + 1}
		l, err := r.Line(strings.TrimSuffix(s, "\n"), at)
		if err != nil {
			var pe *parse.Error
			if !errors.As(err, &pe) {
				panic(err)
			}
			return out, pe, at.At(pe.Pos)
		}
		out = append(out, l)
	}
	if l, err := r.End(); err != nil {
		var pe *parse.Error
		errors.As(err, &pe)
		return out, pe, l.Position(pe.Pos)
	}
	return out, nil, parse.Position{}
}

func TestSaveReaderCases(t *testing.T) {
	for _, c := range saveCases {
		t.Run(c.name, func(t *testing.T) {
			text, line, col := c.file()
			_, err, at := readSave(text, c.v6)
			if c.kind == "" {
				if err != nil {
					t.Fatalf("%s: %v", at, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("read whole, want a %s error", c.kind)
			}
			kind := map[parse.ErrorKind]string{parse.Invalid: "invalid", parse.Unsupported: "unsupported"}[err.Kind]
			if kind != c.kind || !strings.Contains(err.Msg, c.msg) {
				t.Errorf("got %s error %q, want %s with %q", kind, err.Msg, c.kind, c.msg)
			}
			if at.Line != line || at.Col != col {
				t.Errorf("error at %s (%v), want line %d col %d", at, err.Msg, line, col)
			}
		})
	}
}

// TestSaveReaderLines checks what each line says: the chains, policies,
// implicit chains and the resolved -I positions.
func TestSaveReaderLines(t *testing.T) {
	text := "# x\n*filter\n:INPUT DROP [1:2]\n:foo - [0:0]\n-I foo -j DROP\n-I foo 2 -j ACCEPT\n-I foo 1 -j RETURN\n" +
		"-A foo -s 10.0.0.1 -j DROP\n-I foo 3 -s 10.0.0.2 -j DROP\n-A FORWARD -j foo\n-P OUTPUT DROP\n-F foo\n-A foo -j DROP\nCOMMIT\n*filter\nCOMMIT\n"
	lines, err, at := readSave(text, false)
	if err != nil {
		t.Fatalf("%s: %v", at, err)
	}
	type got struct {
		Op                script.SaveOp
		Table, Chain      string
		Builtin, Implicit bool
		Again             bool
		Policy            string
		Index             int
	}
	var gots []got
	for _, l := range lines {
		gots = append(gots, got{l.Op, l.Table, l.Chain, l.Builtin, l.Implicit, l.Again, l.Policy, l.Index})
	}
	want := []got{
		{Op: script.SaveNone},
		{Op: script.SaveTable, Table: "filter"},
		{Op: script.SaveChain, Table: "filter", Chain: "INPUT", Builtin: true, Policy: "DROP"},
		{Op: script.SaveChain, Table: "filter", Chain: "foo"},
		{Op: script.SaveRule, Table: "filter", Chain: "foo", Index: 0},
		{Op: script.SaveRule, Table: "filter", Chain: "foo", Index: 1},
		{Op: script.SaveRule, Table: "filter", Chain: "foo", Index: 0},
		{Op: script.SaveRule, Table: "filter", Chain: "foo", Index: 3},
		{Op: script.SaveRule, Table: "filter", Chain: "foo", Index: 2},
		{Op: script.SaveRule, Table: "filter", Chain: "FORWARD", Builtin: true, Implicit: true, Index: 0},
		{Op: script.SavePolicy, Table: "filter", Chain: "OUTPUT", Builtin: true, Implicit: true, Policy: "DROP"},
		{Op: script.SaveFlush, Table: "filter", Chain: "foo"},
		{Op: script.SaveRule, Table: "filter", Chain: "foo", Index: 0},
		{Op: script.SaveCommit, Table: "filter"},
		{Op: script.SaveTable, Table: "filter", Again: true},
		{Op: script.SaveCommit, Table: "filter"},
	}
	if len(gots) != len(want) {
		t.Fatalf("got %d lines, want %d: %+v", len(gots), len(want), gots)
	}
	for i := range want {
		if gots[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i+1, gots[i], want[i])
		}
	}
}

// TestSaveReaderUnsupportedKeepsPlace: a rule ctmatch cannot read whole
// still counts for the -I positions after it.
func TestSaveReaderUnsupportedKeepsPlace(t *testing.T) {
	for _, unsupported := range []string{
		"-A INPUT -m recent --name x --rcheck -j DROP",
	} {
		r := script.NewSaveReader(parse.Options{})
		if _, err := r.Line("*filter", parse.Position{Line: 1}); err != nil {
			t.Fatal(err)
		}
		l, err := r.Line(unsupported, parse.Position{Line: 2})
		var pe *parse.Error
		if !errors.As(err, &pe) || pe.Kind != parse.Unsupported || l == nil || l.Op != script.SaveRule || l.Chain != "INPUT" || !l.Implicit {
			t.Fatalf("line %q: %+v, %v; want the rule with an Unsupported error", unsupported, l, err)
		}
		l, err = r.Line("-I INPUT 2 -j ACCEPT", parse.Position{Line: 3})
		if err != nil || l.Index != 1 {
			t.Fatalf("-I INPUT 2 after %q: %+v, %v; want index 1", unsupported, l, err)
		}
	}
}
