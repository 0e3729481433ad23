package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// This file is apply -f of ctmatch's own JSON listing (list -o json): the
// tables, chains and rules it holds are created whole, in one transaction
// (firewall.Client.CreateTables), each rule from the iptables words its
// "ctmatch" record keeps, so that the rules come back with their group
// records, a ct port match without a protocol test included (which nft
// 1.0.6 cannot parse). Counters start from zero.

// listingDoc is a JSON listing.
type listingDoc struct {
	Nftables []map[string]json.RawMessage `json:"nftables"`
}

type listedTable struct {
	Family string `json:"family"`
	Name   string `json:"name"`
	// Flags are the table's flags (["dormant"]; libnftables also reads a
	// string), which apply refuses.
	Flags json.RawMessage `json:"flags"`
}

type listedChain struct {
	Family string `json:"family"`
	Table  string `json:"table"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Hook   string `json:"hook"`
	Dev    string `json:"dev"`
	Prio   *int32 `json:"prio"`
	Policy string `json:"policy"`
}

type listedRule struct {
	Family  string          `json:"family"`
	Table   string          `json:"table"`
	Chain   string          `json:"chain"`
	Comment string          `json:"comment"`
	Expr    json.RawMessage `json:"expr"`
	Ctmatch *struct {
		Piece  int    `json:"piece"`
		Pieces int    `json:"pieces"`
		Family string `json:"family"`
		Words  string `json:"words"`
	} `json:"ctmatch"`
}

// readListing returns the contents of -f FILE when it is a JSON document
// (its first byte that is not blank is "{"), and nil otherwise, having read
// no more than the blanks before that byte; what it reads of standard input
// is put back for the command to read.
func readListing(cmd *cobra.Command, name string) ([]byte, error) {
	r, _, done, err := openInput(cmd, name)
	if err != nil {
		return nil, err
	}
	defer done()
	br := bufio.NewReader(r)
	var read []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			break
		}
		read = append(read, c)
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			break
		}
	}
	if len(read) == 0 || read[len(read)-1] != '{' {
		if name == "-" {
			cmd.SetIn(io.MultiReader(bytes.NewReader(read), br))
		}
		return nil, nil
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		return nil, &exitError{code: exitUnsupported, err: err}
	}
	return append(read, rest...), nil
}

// applyListing applies a JSON listing, if -f names one; done says it did.
func (o *applyOptions) applyListing(cmd *cobra.Command) (done bool, err error) {
	if o.words.file == "" || o.file6 != "" {
		return false, nil
	}
	data, err := readListing(cmd, o.words.file)
	if err != nil || data == nil {
		return false, err
	}
	if o.family != "" || o.write.create || o.write.echo {
		return true, usageError("--family, --create and --echo do not go with a JSON listing, which holds its tables whole")
	}
	ds, err := listingTables(data, o.noCounter)
	if err != nil {
		code, kind := exitInvalid, "invalid"
		if errors.Is(err, errNotLoadable) || errors.Is(err, errFlaggedTable) {
			code, kind = exitUnsupported, "unsupported"
		}
		name := o.words.file
		if name == "-" {
			name = "<stdin>"
		}
		if o.words.errorFormat == "json" {
			// As the errors of other files: one JSON object, the file
			// named (a listing's errors name the object, not a line).
			rep := &reporter{w: cmd.ErrOrStderr(), json: true}
			rep.print(source{pos: parse.Position{File: name}}, problem{kind: kind, msg: err.Error()})
			return true, &exitError{code: code, printed: true}
		}
		return true, &exitError{code: code, err: fmt.Errorf("%s: %w", name, err)}
	}
	if len(ds) == 0 {
		return true, nil
	}
	rep := &reporter{w: cmd.ErrOrStderr(), json: o.words.errorFormat == "json"}
	return true, o.writeTables(cmd.Context(), rep, ds, "the listing")
}

// errFlaggedTable is a listed table with flags (dormant), which apply
// cannot make: made without them, a standby firewall would become active.
var errFlaggedTable = errors.New("a table with flags")

// errNotLoadable is a listed rule ctmatch does not understand.
var errNotLoadable = errors.New("a rule ctmatch does not understand, which it cannot load")

// listedExprs reads a listed rule's expressions, as JSON values: a
// counter's values, which apply does not carry over, become null (as
// compiled rules have it), and with noCounter the counters are left out.
func listedExprs(raw json.RawMessage, noCounter bool) ([]any, error) {
	var exprs []any
	if err := json.Unmarshal(raw, &exprs); err != nil {
		return nil, err
	}
	out := exprs[:0]
	for _, e := range exprs {
		if isCounter(e) {
			if noCounter {
				continue
			}
			e = map[string]any{"counter": nil}
		}
		out = append(out, e)
	}
	return out, nil
}

// isCounter reports whether a listed expression is a counter statement.
func isCounter(e any) bool {
	m, ok := e.(map[string]any)
	_, counter := m["counter"]
	return ok && len(m) == 1 && counter
}

// listingTables reads a JSON listing into the tables to create.
func listingTables(data []byte, noCounter bool) ([]firewall.DesiredTable, error) {
	var doc listingDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON listing of ctmatch list -o json: %w", err)
	}
	var tables []*firewall.DesiredTable
	find := func(fam, name string) (*firewall.DesiredTable, error) {
		for _, t := range tables {
			if t.Family.String() == fam && t.Name == name {
				return t, nil
			}
		}
		return nil, fmt.Errorf("table %s %s is not listed before its chains and rules", fam, name)
	}
	var group *ctmatch.Rule // the group being read
	var groupComment string
	for i, obj := range doc.Nftables {
		if len(obj) != 1 {
			return nil, fmt.Errorf("object %d: %d keys, want one", i+1, len(obj))
		}
		for kind, raw := range obj {
			switch kind {
			case "metainfo":
			case "table":
				var t listedTable
				if err := json.Unmarshal(raw, &t); err != nil {
					return nil, fmt.Errorf("object %d: %w", i+1, err)
				}
				if f := string(bytes.TrimSpace(t.Flags)); f != "" && f != "null" && f != "[]" && f != `""` {
					return nil, fmt.Errorf("object %d: %w: table %s %s has flags %s, and ctmatch apply makes tables without flags (nft 1.1.0 and later load the listing with them: nft -j -f)",
						i+1, errFlaggedTable, t.Family, t.Name, f)
				}
				f, err := parseFamily(t.Family)
				if err != nil {
					return nil, fmt.Errorf("object %d: %w", i+1, err)
				}
				tables = append(tables, &firewall.DesiredTable{Family: f, Name: t.Name})
			case "chain":
				var c listedChain
				if err := json.Unmarshal(raw, &c); err != nil {
					return nil, fmt.Errorf("object %d: %w", i+1, err)
				}
				t, err := find(c.Family, c.Table)
				if err != nil {
					return nil, fmt.Errorf("object %d: %w", i+1, err)
				}
				dc := firewall.DesiredChain{Name: c.Name}
				if c.Hook != "" {
					b, err := listedBase(c)
					if err != nil {
						return nil, fmt.Errorf("object %d: chain %s: %w", i+1, c.Name, err)
					}
					dc.Base = b
				}
				t.Chains = append(t.Chains, dc)
			case "rule":
				var r listedRule
				if err := json.Unmarshal(raw, &r); err != nil {
					return nil, fmt.Errorf("object %d: %w", i+1, err)
				}
				if r.Ctmatch == nil {
					return nil, fmt.Errorf("object %d: a rule in %s %s %s without ctmatch's record: not a listing of ctmatch list -o json", i+1, r.Family, r.Table, r.Chain)
				}
				t, err := find(r.Family, r.Table)
				if err != nil {
					return nil, fmt.Errorf("object %d: %w", i+1, err)
				}
				listed, err := listedExprs(r.Expr, noCounter)
				if err != nil {
					return nil, fmt.Errorf("object %d: expr: %w", i+1, err)
				}
				if r.Ctmatch.Piece == 0 {
					counted := slices.ContainsFunc(listed, isCounter)
					if group, err = compileListed(t.Family, r.Ctmatch.Family, r.Ctmatch.Words, r.Chain, noCounter || !counted); err != nil {
						return nil, fmt.Errorf("object %d: %w", i+1, err)
					}
					groupComment = r.Comment
					if len(group.Rules) != r.Ctmatch.Pieces {
						return nil, fmt.Errorf("object %d: %q compiles to %d nft rules, the listing has %d", i+1, r.Ctmatch.Words, len(group.Rules), r.Ctmatch.Pieces)
					}
					dr := firewall.DesiredRule{Rule: group}
					if group.Rules[0].Comment == "" {
						dr.Comment = groupComment
					}
					var ch *firewall.DesiredChain
					for k := range t.Chains {
						if t.Chains[k].Name == r.Chain {
							ch = &t.Chains[k]
						}
					}
					if ch == nil {
						return nil, fmt.Errorf("object %d: chain %s is not listed before its rules", i+1, r.Chain)
					}
					ch.Rules = append(ch.Rules, dr)
				}
				if group == nil || r.Ctmatch.Piece >= len(group.Rules) {
					return nil, fmt.Errorf("object %d: piece %d of a group that is not listed whole", i+1, r.Ctmatch.Piece+1)
				}
				// The listed expressions are what the words compile to,
				// however the JSON was spaced or its keys ordered (a listing
				// that passed through jq or another JSON tool).
				want := group.Rules[r.Ctmatch.Piece].AppendJSON(nil)
				var compiled []any
				if err := json.Unmarshal(want, &compiled); err != nil {
					return nil, fmt.Errorf("object %d: %w", i+1, err)
				}
				if !reflect.DeepEqual(compiled, listed) {
					var got bytes.Buffer
					enc := json.NewEncoder(&got)
					enc.SetEscapeHTML(false)
					_ = enc.Encode(listed) // (values json.Unmarshal made)
					return nil, fmt.Errorf("object %d: the rule's expressions are not what its words %q compile to:\n  listed   %s\n  compiled %s", i+1, r.Ctmatch.Words, bytes.TrimSpace(got.Bytes()), want)
				}
			case "ctmatch-not-decompiled":
				return nil, fmt.Errorf("object %d: %w: %s", i+1, errNotLoadable, raw)
			default:
				return nil, fmt.Errorf("object %d: %q: not an object of ctmatch list -o json", i+1, kind)
			}
		}
	}
	out := make([]firewall.DesiredTable, len(tables))
	for i, t := range tables {
		out[i] = *t
	}
	return out, nil
}

// compileListed compiles a group's words for a table of family table, in
// the listed chain (NETMAP's direction is its chain's).
func compileListed(table expr.Family, fam, words, chain string, noCounter bool) (*ctmatch.Rule, error) {
	o := ctmatch.Options{Table: table, NoCounter: noCounter, Chain: chain}
	// The record's words leave out -t (ctmatch.Words): a target valid in
	// one table only (the NAT targets in nat, NOTRACK in raw …) is read
	// in that table, as the listing's rule was added.
	po := parse.Options{}
	if fam == "ipv6" {
		po.Family = parse.IPv6
	}
	if r, err := parse.ParseText(words, po); err == nil && r.Table == nil {
		if tt := compile.TargetTable(r); tt != "" && tt != "filter" {
			words = "-t " + tt + " " + words
		}
	}
	switch fam {
	case "ipv4":
	case "ipv6":
		o.IPv6 = true
	case "both":
		return ctmatch.TranslateBoth(words, o)
	default:
		return nil, fmt.Errorf("family %q: expected ipv4, ipv6 or both", fam)
	}
	return ctmatch.Translate(words, o)
}

// listedBase returns the base chain of a listed chain.
func listedBase(c listedChain) (*kernel.BaseChain, error) {
	b := &kernel.BaseChain{Type: c.Type, Device: c.Dev}
	for h := kernel.HookPrerouting; h <= kernel.HookIngress; h++ {
		if h.String() == c.Hook {
			b.Hook = h
		}
	}
	if b.Hook == 0 {
		return nil, fmt.Errorf("unknown hook %q", c.Hook)
	}
	if c.Prio == nil {
		return nil, errors.New("a base chain without its priority")
	}
	b.Priority = *c.Prio
	switch c.Policy {
	case "", "accept":
	case "drop":
		b.Policy = kernel.PolicyDrop
	default:
		return nil, fmt.Errorf("unknown policy %q", c.Policy)
	}
	return b, nil
}
