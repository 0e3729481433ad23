package kernel

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
	"strconv"
)

// location is the part of a change's message that an extended ACK offset
// points at.
type location struct {
	attr     int    // type of the top-level attribute, -1 when unknown
	expr     int    // index of the expression in NFTA_RULE_EXPRESSIONS, from 0, or -1
	exprName string // its name
	exprAttr int    // type of the attribute inside its NFTA_EXPR_DATA, or -1
}

// locate maps off, an offset into the change's message (its netlink header
// included), to the attribute there. The kernel points at an attribute's
// header (NL_SET_BAD_ATTR); an offset inside an attribute is taken to
// point at it too.
func (ch *change) locate(attrs []byte, off int) location {
	loc := location{attr: -1, expr: -1, exprAttr: -1}
	if off < 0 || ch.len == 0 {
		return loc
	}
	top, err := nfnl.SplitAttrs(attrs, nfnl.BodyOffset)
	if err != nil {
		return loc
	}
	a, ok := nfnl.Containing(top, off)
	if !ok {
		return loc
	}
	loc.attr = int(a.Type)
	if (ch.kind != addRule || a.Type != attrRuleExpressions) || off == a.Off {
		return loc
	}
	elems, err := nfnl.SplitAttrs(a.Data, a.Off+nfnl.AttrHeaderLen)
	if err != nil {
		return loc
	}
	for k, el := range elems {
		if !el.Contains(off) {
			continue
		}
		loc.expr = k
		inner, err := nfnl.SplitAttrs(el.Data, el.Off+nfnl.AttrHeaderLen)
		if err != nil {
			return loc
		}
		for _, in := range inner {
			switch in.Type {
			case nfnl.AttrExprName:
				loc.exprName = nfnl.String(in.Data)
			case nfnl.AttrExprData:
				if off > in.Off && in.Contains(off) {
					if das, err := nfnl.SplitAttrs(in.Data, in.Off+nfnl.AttrHeaderLen); err == nil {
						if d, ok := nfnl.Containing(das, off); ok {
							loc.exprAttr = int(d.Type)
						}
					}
				}
			}
		}
		return loc
	}
	return loc
}

// where names a location for an error message.
func (ch *change) where(loc location) string {
	if loc.expr >= 0 {
		s := "expression " + strconv.Itoa(loc.expr+1)
		if loc.exprName != "" {
			s += " (" + loc.exprName + ")"
		}
		if loc.exprAttr >= 0 {
			s += fmt.Sprintf(", its attribute %d", loc.exprAttr)
		}
		return s
	}
	if loc.attr < 0 {
		return ""
	}
	names := map[changeKind]map[int]string{
		addTable: {attrTableName: "table name", attrTableUserdata: "userdata"},
		addChain: {attrChainTable: "table", attrChainName: "chain name", attrChainHook: "hook",
			attrChainPolicy: "policy", attrChainType: "chain type", attrChainUserdata: "userdata"},
		addRule: {attrRuleTable: "table", attrRuleChain: "chain", attrRulePosition: "position",
			attrRuleExpressions: "expressions", attrRuleUserdata: "userdata", attrRuleID: "rule id", attrRulePositionID: "position id"},
		deleteRule:  {attrRuleTable: "table", attrRuleChain: "chain", attrRuleHandle: "handle"},
		deleteTable: {attrTableName: "table name"},
		flushTable:  {attrRuleTable: "table"},
		deleteChain: {attrChainTable: "table", attrChainName: "chain name"},
		flushChain:  {attrRuleTable: "table", attrRuleChain: "chain"},
		addSet: {attrSetTable: "table", attrSetName: "set name", attrSetFlags: "set flags", attrSetKeyType: "key type",
			attrSetKeyLen: "key length", attrSetDesc: "size", attrSetID: "set id", attrSetUserdata: "userdata"},
		addElems:      {attrElemListTable: "table", attrElemListSet: "set", attrElemListElems: "elements", attrElemListSetID: "set id"},
		addObject:     {attrObjTable: "table", attrObjName: "name", attrObjType: "object type", attrObjData: "ct helper", attrObjUdata: "userdata"},
		destroyTable:  {attrTableName: "table name"},
		destroyChain:  {attrChainTable: "table", attrChainName: "chain name"},
		deleteObject:  {attrObjTable: "table", attrObjName: "name", attrObjType: "object type", attrObjData: "ct helper"},
		destroyObject: {attrObjTable: "table", attrObjName: "name", attrObjType: "object type", attrObjData: "ct helper"},
	}
	if s, ok := names[ch.kind][loc.attr]; ok {
		return s
	}
	return fmt.Sprintf("attribute %d", loc.attr)
}

// changeError builds the error for change i, which the kernel refused with
// r: the errno, what the extended ACK pointed at, and a reason a person can
// act on.
func (tx *Tx) changeError(i int, r errorReply) *Error {
	c := tx.change(i)
	ch := &c
	loc := ch.locate(tx.attrs(ch), r.offset)
	e := &Error{
		Op: ch.op(), Object: ch.object(), Source: ch.source, Index: i,
		Where: ch.where(loc), KernelMessage: r.msg, Offset: offset(r), Err: r.errno,
	}
	fam := ch.family.String()
	table := "table " + fam + " " + ch.table
	const create = "create it, or use --create"
	lacks := "the kernel lacks a feature this rule needs: " + r.errno.Error()
	if e.Where == "" && r.missing >= 0 {
		e.Where = fmt.Sprintf("missing attribute %d", r.missing)
	}
	if e.Reason = ch.lifecycleReason(r.errno, loc.attr, table); e.Reason != "" {
		e.Where = ""
		return e
	}
	switch r.errno {
	case eperm:
		// The capability is checked for the whole batch (see refused):
		// for one change, EPERM means the table has an owner (a process
		// that created it with NFT_TABLE_F_OWNER) and it is not us.
		if loc.attr == attrRuleTable && (ch.kind == addRule || ch.kind == deleteRule) ||
			loc.attr == attrChainTable && ch.kind == addChain || ch.kind == addTable {
			e.Where, e.Reason = "", table+" is owned by another process: "+r.errno.Error()
		}
	case enoent:
		isTable := loc.attr == attrRuleTable && (ch.kind == addRule || ch.kind == deleteRule) ||
			loc.attr == attrChainTable && ch.kind == addChain
		switch {
		case isTable:
			e.Where, e.Reason, e.Hint = "", "no such "+table, create
		case loc.attr == attrRuleChain && (ch.kind == addRule || ch.kind == deleteRule):
			e.Where, e.Reason, e.Hint = "", "no such chain "+ch.chain+" in "+table, create
		case loc.attr == attrRulePosition && ch.kind == addRule:
			where := "add after"
			if ch.insert {
				where = "insert before"
			}
			e.Where, e.Reason = "", fmt.Sprintf("no rule with handle %d to %s in chain %s %s %s", ch.handle, where, fam, ch.table, ch.chain)
		case loc.attr == attrRulePositionID && ch.kind == addRule:
			where := "add after"
			if ch.insert {
				where = "insert before"
			}
			e.Where, e.Reason = "", fmt.Sprintf("no rule with id %d earlier in the transaction to %s in chain %s %s %s", ch.positionID, where, fam, ch.table, ch.chain)
		case loc.attr == attrRuleHandle && ch.kind == deleteRule:
			e.Where, e.Reason = "", fmt.Sprintf("no such rule with handle %d in chain %s %s %s", ch.handle, fam, ch.table, ch.chain)
		case loc.exprName == "lookup":
			// The set a lookup names is neither in the table nor added
			// earlier in the transaction with the id it gives.
			name, id := lookupRef(tx.exprs(ch), loc.expr)
			set := "set " + name
			if id != 0 {
				set += fmt.Sprintf(" (id %d in the transaction)", id)
			}
			e.Reason = fmt.Sprintf("no such %s in %s for the rule's lookup: %v", set, table, r.errno)
		case loc.expr >= 0:
			e.Reason = lacks
		case loc.attr == attrChainType && ch.kind == addChain:
			e.Where, e.Reason = "", fmt.Sprintf("the kernel lacks chain type %q: %v", ch.base.TypeName(), r.errno)
		case loc.attr < 0 && ch.kind == addRule:
			e.Reason = fmt.Sprintf("no such table %s %s or chain %s in it, or the kernel lacks a feature this rule needs: %v",
				fam, ch.table, ch.chain, r.errno)
			e.Hint = "create them, or use --create"
		case loc.attr < 0 && ch.kind == addChain:
			e.Reason = "no such " + table + ", or the kernel lacks this chain type: " + r.errno.Error()
			e.Hint = create
		case loc.attr < 0 && ch.kind == deleteRule:
			e.Reason = fmt.Sprintf("no such table %s %s, chain %s in it, or rule with handle %d: %v", fam, ch.table, ch.chain, ch.handle, r.errno)
		}
	case eopnotsupp:
		switch {
		case ch.kind == addRule && loc.exprName == "immediate":
			// nf_tables refuses a jump or goto to a base chain, and a
			// verdict a chain's hook cannot take, with EOPNOTSUPP.
			e.Reason = "the kernel refused the rule's verdict (it takes no jump or goto to a base chain): " + r.errno.Error()
			if rule, err := expr.Raise(ch.family, tx.exprs(ch)); err == nil && (rule.Verdict.Kind == expr.VerdictJump || rule.Verdict.Kind == expr.VerdictGoto) {
				e.Reason = fmt.Sprintf("chain %s is a base chain, and the kernel takes no jump or goto to a base chain: %v", rule.Verdict.Chain, r.errno)
			}
		case ch.kind == addRule && natRule(ch.family, tx.exprs(ch), loc.exprName):
			// nft_chain_validate_dependency: masq, nat and redir only in
			// a chain of type nat (EOPNOTSUPP).
			e.Where = ""
			e.Reason = fmt.Sprintf("the kernel takes NAT (masquerade, snat, dnat, redirect, netmap) only in a chain of type nat, or a regular chain reached only from such chains, and chain %s is not one: %v", ch.chain, r.errno)
			e.Hint = "write the rule into a base chain of type nat (--create makes one for -t nat and a built-in chain's name)"
		case ch.kind == addRule && (loc.expr >= 0 || loc.attr < 0 || loc.attr == attrRuleExpressions):
			e.Reason = lacks
		case ch.kind == addChain:
			e.Reason = "the kernel lacks a feature this chain needs: " + r.errno.Error()
		}
	case unix.EMLINK, unix.ELOOP:
		if ch.kind == addRule {
			e.Where, e.Reason, e.kind = "", ch.loopReason(tx.exprs(ch), r.errno), ErrJumpLoop
		}
	case eexist:
		switch ch.kind {
		case addTable:
			e.Where, e.Reason = "", table+" exists"
		case addChain:
			e.Where, e.Reason = "", "chain "+ch.chain+" exists in "+table
		}
	}
	if e.Reason == "" {
		e.Reason = r.errno.Error()
	}
	return e
}

// lifecycleReason says why the kernel refused a change that deletes or
// flushes a table or chain, or adds a set, its elements or an object, with
// errno at the attribute attr; "" when it has nothing to add.
func (ch *change) lifecycleReason(errno unix.Errno, attr int, table string) string {
	switch {
	case errno == eperm && ch.kind >= deleteTable && (attr == 1 || attr < 0):
		// (As for the other changes: the table has an owner, and it is
		// not us; the capability is checked for the whole batch.)
		return table + " is owned by another process: " + errno.Error()
	case errno == enoent && attr == 1 && ch.kind >= deleteTable, // every first attribute is the table's
		errno == enoent && attr < 0 && (ch.kind == deleteTable || ch.kind == flushTable):
		return "no such " + table
	case errno == eopnotsupp && (ch.kind == destroyTable || ch.kind == destroyChain || ch.kind == destroyObject):
		return "the kernel lacks " + ch.op() + " (NFT_MSG_DESTROY…, Linux 6.3 or later): " + errno.Error()
	case errno == enoent && attr == attrChainName && (ch.kind == deleteChain || ch.kind == destroyChain),
		errno == enoent && attr == attrRuleChain && ch.kind == flushChain:
		return "no such chain " + ch.chain + " in " + table
	case errno == enoent && attr == attrElemListSet && ch.kind == addElems:
		return "no such set " + ch.chain + " in " + table
	case errno == unix.EBUSY && (ch.kind == deleteChain || ch.kind == destroyChain):
		return "chain " + ch.chain + " in " + table + " is not empty, or a rule jumps to it: " + errno.Error()
	case errno == unix.EBUSY && (ch.kind == deleteTable || ch.kind == destroyTable):
		return table + " is in use: " + errno.Error()
	case errno == eexist && ch.kind == addObject:
		return "ct helper " + ch.chain + " exists in " + table
	case errno == eexist && ch.kind == addSet:
		return "set " + ch.chain + " exists in " + table
	case errno == enoent && attr == attrObjName && (ch.kind == deleteObject || ch.kind == destroyObject):
		return "no such ct helper " + ch.chain + " in " + table
	case errno == unix.EBUSY && (ch.kind == deleteObject || ch.kind == destroyObject):
		return "ct helper " + ch.chain + " in " + table + " is in use by a rule (ct helper set): " + errno.Error()
	case errno == enoent && ch.kind == addObject && attr == attrObjData:
		return "the kernel lacks ct helper objects: " + errno.Error()
	}
	return ""
}

// loopReason says why the kernel refused rule change ch, whose expressions
// are exprs, with errno EMLINK or ELOOP: nf_tables follows the jumps and
// gotos from every base chain (nft_chain_validate) and refuses a path that
// comes back to a chain it left, or nests deeper than its jump stack (16
// chains).
func (ch *change) loopReason(exprs []byte, errno unix.Errno) string {
	in := "chain " + ch.chain
	if rule, err := expr.Raise(ch.family, exprs); err == nil && (rule.Verdict.Kind == expr.VerdictJump || rule.Verdict.Kind == expr.VerdictGoto) {
		verb := "jump"
		if rule.Verdict.Kind == expr.VerdictGoto {
			verb = "goto"
		}
		return fmt.Sprintf("the rule's %s to chain %s makes a loop of jumps through %s, or jumps nested deeper than the kernel's 16 chains, from a base chain: %v",
			verb, rule.Verdict.Chain, in, errno)
	}
	return fmt.Sprintf("with this rule in %s, the jumps from a base chain make a loop or nest deeper than the kernel's 16 chains: %v", in, errno)
}

// natRule reports whether the rule the kernel refused is a NAT rule: the
// expression it pointed at (exprName) is masq, nat or redir, or, where it
// pointed at none, the rule holds a NAT statement.
func natRule(f expr.Family, exprs []byte, exprName string) bool {
	switch exprName {
	case "masq", "nat", "redir":
		return true
	case "":
		r, err := expr.Raise(f, exprs)
		if err != nil {
			return false
		}
		for _, s := range r.Stmts {
			switch s.(type) {
			case expr.NAT, *expr.NAT, expr.Masquerade, *expr.Masquerade, expr.Redirect, *expr.Redirect, expr.Netmap, *expr.Netmap:
				return true
			}
		}
	}
	return false
}
