package main

import (
	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/firewall"
	"github.com/ctmatch/ctmatch/kernel"
	"github.com/ctmatch/ctmatch/parse"
)

// This file is apply -f FILE [--file6 FILE] --family inet: the ip and ip6
// tables the iptables-save files name are merged into one inet table per
// iptables table (ctmatch.MergeInet), created as ctmatch's own tables in
// one transaction.

// inetTables merges the tables of the files (ip and ip6) into inet tables.
func inetTables(tables []*desiredTable, noCounter bool) ([]firewall.DesiredTable, error) {
	var rs [2]ctmatch.Ruleset
	for _, t := range tables {
		v6 := t.d.Family == expr.FamilyIP6
		mt := ctmatch.Table{Name: t.d.Name}
		for _, c := range t.d.Chains {
			mc := ctmatch.Chain{Name: c.Name, Builtin: c.Base != nil}
			if c.Base != nil {
				mc.Policy = "ACCEPT"
				if c.Base.Policy == kernel.PolicyDrop {
					mc.Policy = "DROP"
				}
			}
			for _, r := range c.Rules {
				ir, err := ctmatch.Compile(r.Rule.Source, ctmatch.Options{Table: expr.FamilyInet, IPv6: r.Rule.Family == parse.IPv6, NoCounter: noCounter})
				if err != nil {
					return nil, err
				}
				mc.Rules = append(mc.Rules, ir)
			}
			mt.Chains = append(mt.Chains, mc)
		}
		i := 0
		if v6 {
			i = 1
		}
		rs[i].Tables = append(rs[i].Tables, mt)
	}
	m, err := ctmatch.MergeInet(rs[0], rs[1], ctmatch.Options{NoCounter: noCounter})
	if err != nil {
		return nil, err
	}
	out, err := firewall.DesiredTables(m, expr.FamilyInet)
	if err != nil {
		return nil, err
	}
	for i := range out {
		// The inet table takes the place of the ip and ip6 tables the
		// files name: --replace and --takeover delete them.
		for _, src := range tables {
			if src.d.Name != out[i].Name {
				continue
			}
			mt := firewall.MergedTable{Family: src.d.Family}
			for _, c := range src.d.Chains {
				mt.Chains = append(mt.Chains, c.Name)
			}
			out[i].Merges = append(out[i].Merges, mt)
		}
	}
	return out, nil
}

// inet returns the tables apply --family inet creates.
func (o *applyOptions) inet(tables []*desiredTable) ([]firewall.DesiredTable, error) {
	if o.family != "inet" {
		return nil, usageError("--family %s: an iptables-save file's family is its own (ip tables for -f, ip6 tables for --file6); --family inet merges them", o.family)
	}
	ds, err := inetTables(tables, o.noCounter)
	if err != nil {
		return nil, systemError(err)
	}
	return ds, nil
}
