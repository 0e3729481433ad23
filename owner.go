package ctmatch

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/kernel"
)

// Tables that ctmatch creates carry an ownership record in their userdata
// (NFTA_TABLE_USERDATA). Like a rule's userdata, a table's is a list of
// libnftnl "udata" TLVs: one byte of type, one byte of length, the value.
// nft keeps its table comment in type 0 (NFTNL_UDATA_TABLE_COMMENT) and
// ignores the types it does not know, so nft 1.0.6 lists such tables as
// usual. ctmatch's record is:
//
//	type   0xc7 (the type of ctmatch's records, as in rule userdata)
//	length 8
//	value  byte 0: version (1); bytes 1-7: "ctmatch"
//
// A table with the record is ctmatch's: it is never taken for
// iptables-nft's, whatever its name.
const (
	udataTableComment = 0    // NFTNL_UDATA_TABLE_COMMENT
	udataOwner        = 0xc7 // ctmatch's record
	ownerVersion      = 1
	ownerMagic        = "ctmatch"
)

// TableUserData returns the userdata of a table that ctmatch creates: nft's
// comment record when comment is not empty, then ctmatch's ownership record.
func TableUserData(comment string) ([]byte, error) {
	var out []byte
	if comment != "" {
		if len(comment)+1 > 255 || len(comment)+1+2+2+1+len(ownerMagic) > expr.MaxUserData {
			return nil, fmt.Errorf("table comment of %d bytes is too long: at most 254", len(comment))
		}
		out = append(out, udataTableComment, byte(len(comment)+1))
		out = append(out, comment...)
		out = append(out, 0)
	}
	out = append(out, udataOwner, byte(1+len(ownerMagic)), ownerVersion)
	return append(out, ownerMagic...), nil
}

// OwnedTable reports whether a table's userdata holds ctmatch's ownership
// record (of any version).
func OwnedTable(userdata []byte) bool {
	for b := userdata; len(b) >= 2; {
		typ, n := b[0], int(b[1])
		if n > len(b)-2 {
			return false
		}
		val := b[2 : 2+n]
		if typ == udataOwner && n >= 1+len(ownerMagic) && string(val[1:1+len(ownerMagic)]) == ownerMagic {
			return true
		}
		b = b[2+n:]
	}
	return false
}

// iptablesChains are the built-in chains of each iptables table, as
// iptables-nft makes them, with the type and priority it gives each
// (checked with iptables-nft 1.8.9: nft list ruleset after iptables -t T -A
// C for every table and chain). The priorities are the kernel's
// NF_IP_PRI_* values, except security: iptables-nft uses 150 there, not
// NF_IP_PRI_SECURITY (50).
var iptablesChains = map[string]map[kernel.Hook]kernel.BaseChain{
	"raw": {
		kernel.HookPrerouting: {Type: "filter", Hook: kernel.HookPrerouting, Priority: -300},
		kernel.HookOutput:     {Type: "filter", Hook: kernel.HookOutput, Priority: -300},
	},
	"mangle": {
		kernel.HookPrerouting:  {Type: "filter", Hook: kernel.HookPrerouting, Priority: -150},
		kernel.HookInput:       {Type: "filter", Hook: kernel.HookInput, Priority: -150},
		kernel.HookForward:     {Type: "filter", Hook: kernel.HookForward, Priority: -150},
		kernel.HookOutput:      {Type: "route", Hook: kernel.HookOutput, Priority: -150},
		kernel.HookPostrouting: {Type: "filter", Hook: kernel.HookPostrouting, Priority: -150},
	},
	"nat": {
		kernel.HookPrerouting:  {Type: "nat", Hook: kernel.HookPrerouting, Priority: -100},
		kernel.HookInput:       {Type: "nat", Hook: kernel.HookInput, Priority: 100},
		kernel.HookOutput:      {Type: "nat", Hook: kernel.HookOutput, Priority: -100},
		kernel.HookPostrouting: {Type: "nat", Hook: kernel.HookPostrouting, Priority: 100},
	},
	"filter": {
		kernel.HookInput:   {Type: "filter", Hook: kernel.HookInput, Priority: 0},
		kernel.HookForward: {Type: "filter", Hook: kernel.HookForward, Priority: 0},
		kernel.HookOutput:  {Type: "filter", Hook: kernel.HookOutput, Priority: 0},
	},
	"security": {
		kernel.HookInput:   {Type: "filter", Hook: kernel.HookInput, Priority: 150},
		kernel.HookForward: {Type: "filter", Hook: kernel.HookForward, Priority: 150},
		kernel.HookOutput:  {Type: "filter", Hook: kernel.HookOutput, Priority: 150},
	},
}

// builtinHooks maps the names of iptables' built-in chains to their hooks.
var builtinHooks = map[string]kernel.Hook{
	"PREROUTING":  kernel.HookPrerouting,
	"INPUT":       kernel.HookInput,
	"FORWARD":     kernel.HookForward,
	"OUTPUT":      kernel.HookOutput,
	"POSTROUTING": kernel.HookPostrouting,
}

// CreatedChain returns the chain that Create makes for a rule of iptables
// table iptTable (the rule's -t, "filter" when absent) in a chain named
// chain: for a name of an iptables built-in chain, compared without regard
// to case (input, INPUT, Output…), the base chain iptables-nft makes in that
// table, with policy accept; for any other name nil, a regular chain. A
// built-in name that the iptables table does not have (-t nat with
// FORWARD) is an error.
func CreatedChain(iptTable, chain string) (*kernel.BaseChain, error) {
	if iptTable == "" {
		iptTable = "filter"
	}
	hook, ok := builtinHooks[strings.ToUpper(chain)]
	if !ok {
		return nil, nil
	}
	chains, ok := iptablesChains[iptTable]
	if !ok {
		return nil, fmt.Errorf("unknown iptables table %q", iptTable)
	}
	b, ok := chains[hook]
	if !ok {
		var names []string
		for _, n := range []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"} {
			if _, ok := chains[builtinHooks[n]]; ok {
				names = append(names, n)
			}
		}
		return nil, fmt.Errorf("iptables' %s table has no %s chain (only %s), so --create does not know which base chain %q should be: create the chain first, or pick the table with -t",
			iptTable, strings.ToUpper(chain), strings.Join(names, ", "), chain)
	}
	return &b, nil
}

// describeBase writes a chain's kind as nft does:
// "type filter hook input priority 0; policy accept", or "a regular chain".
func describeBase(b *kernel.BaseChain) string {
	if b == nil {
		return "a regular chain"
	}
	typ := b.Type
	if typ == "" {
		typ = "filter"
	}
	return fmt.Sprintf("type %s hook %s priority %d; policy %s", typ, b.Hook, b.Priority, b.Policy)
}

// sameBase reports whether two chains are of the same kind: both regular,
// or base chains of the same type, hook and priority (the policy aside).
func sameBase(a, b *kernel.BaseChain) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta, tb := a.Type, b.Type
	if ta == "" {
		ta = "filter"
	}
	if tb == "" {
		tb = "filter"
	}
	return ta == tb && a.Hook == b.Hook && a.Priority == b.Priority
}

// iptablesOwned says why a table that exists is taken for iptables-nft's
// own, or returns "". Such a table has no ctmatch ownership record, is of
// family ip or ip6, has the name of an iptables table, and has one of that
// table's built-in chains (by iptables-nft's exact name) or a rule with an
// xt match or target (expressions "match" and "target": iptables-nft's
// compatibility layer).
func iptablesOwned(ctx context.Context, c nfConn, t kernel.Table) (string, error) {
	if OwnedTable(t.UserData) || t.Family != expr.FamilyIP && t.Family != expr.FamilyIP6 {
		return "", nil
	}
	builtin, ok := iptablesChains[t.Name]
	if !ok {
		return "", nil
	}
	chains, err := c.Chains(ctx, t.Family, t.Name)
	if err != nil {
		return "", err
	}
	for _, ch := range chains {
		if h, ok := builtinHooks[ch.Name]; ok {
			if _, ok := builtin[h]; ok {
				return fmt.Sprintf("it has iptables' built-in chain %s", ch.Name), nil
			}
		}
	}
	for _, ch := range chains {
		rules, err := c.Rules(ctx, t.Family, t.Name, ch.Name)
		if err != nil {
			return "", err
		}
		for _, r := range rules {
			if name := xtExpression(r.Exprs); name != "" {
				return fmt.Sprintf("rule handle %d in chain %s uses an xt %s (iptables-nft's compatibility expression)", r.Handle, ch.Name, name), nil
			}
		}
	}
	return "", nil
}

// xtExpression returns "match" or "target" when a rule's expressions hold
// one of those (the xt compatibility expressions), or "".
func xtExpression(exprs []byte) string {
	for b := exprs; len(b) >= 4; {
		n := int(binary.NativeEndian.Uint16(b))
		if n < 4 || n > len(b) {
			return ""
		}
		// NFTA_LIST_ELEM: its first attribute is NFTA_EXPR_NAME.
		el := b[4:n]
		for len(el) >= 4 {
			m := int(binary.NativeEndian.Uint16(el))
			if m < 4 || m > len(el) {
				break
			}
			if binary.NativeEndian.Uint16(el[2:])&0x3fff == 1 { // NFTA_EXPR_NAME
				name := strings.TrimRight(string(el[4:m]), "\x00")
				if name == "match" || name == "target" {
					return name
				}
				break
			}
			el = el[min((m+3)&^3, len(el)):]
		}
		b = b[min((n+3)&^3, len(b)):]
	}
	return ""
}

// iptablesRefusal is the error for writing into iptables-nft's table.
func iptablesRefusal(op string, t kernel.Table, why string) error {
	return &Error{Op: op, Object: object(t.Family, t.Name), Index: -1, Err: ErrIptablesTable, Reason: fmt.Sprintf(
		"table %s %s looks like iptables-nft's own (%s); after one native rule in it, iptables -S and -L fail and iptables-save leaves the table out (a comment in its place, exit status 0). Write into another table (ctmatch add rule %s fw input --create …), or use --force to write into it anyway",
		t.Family, t.Name, why, t.Family)}
}
