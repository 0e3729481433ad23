package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
)

// Table is an nf_tables table as the kernel lists it.
type Table struct {
	Family   expr.Family // the table's family
	Name     string      // the table's name
	Handle   uint64      // the handle the kernel gave it
	Flags    uint32      // NFT_TABLE_F_*
	Use      uint32      // the number of chains, sets and objects in it
	UserData []byte      // NFTA_TABLE_USERDATA, or nil
}

// Hook is the netfilter hook of a base chain in an ip, ip6 or inet table.
// The zero Hook is no hook.
type Hook uint8

// Hooks. Their kernel values (NF_INET_*) are one less.
const (
	HookPrerouting  Hook = iota + 1 // NF_INET_PRE_ROUTING
	HookInput                       // NF_INET_LOCAL_IN
	HookForward                     // NF_INET_FORWARD
	HookOutput                      // NF_INET_LOCAL_OUT
	HookPostrouting                 // NF_INET_POST_ROUTING
	// HookIngress is the ingress hook of an inet table (NF_INET_INGRESS,
	// Linux 5.10 or later): it needs BaseChain.Device.
	HookIngress
)

// String returns the hook as nft spells it.
func (h Hook) String() string {
	switch h {
	case HookPrerouting:
		return "prerouting"
	case HookInput:
		return "input"
	case HookForward:
		return "forward"
	case HookOutput:
		return "output"
	case HookPostrouting:
		return "postrouting"
	case HookIngress:
		return "ingress"
	case 0:
		return "none"
	}
	return fmt.Sprintf("hook(%d)", int(h)-1)
}

// Policy is the verdict of a base chain for a packet no rule decided on.
// The zero Policy is accept, as in nft.
type Policy uint8

// Policies.
const (
	PolicyAccept Policy = iota // NF_ACCEPT
	PolicyDrop                 // NF_DROP
)

// String returns the policy as nft spells it.
func (p Policy) String() string {
	switch p {
	case PolicyAccept:
		return "accept"
	case PolicyDrop:
		return "drop"
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// Kernel verdict values of a chain policy.
const (
	nfDrop   = 0 // NF_DROP
	nfAccept = 1 // NF_ACCEPT
)

// BaseChain is what makes a chain a base chain: it is attached to a hook.
type BaseChain struct {
	Type     string // filter, nat or route; empty means filter
	Hook     Hook   // the netfilter hook it is attached to
	Priority int32  // its priority at the hook: lower runs first
	Policy   Policy // the verdict for a packet no rule decides
	// Device is the network device of an ingress chain (NFTA_HOOK_DEV);
	// the other hooks take none.
	Device string
}

// TypeName returns the chain type, filter when empty.
func (b *BaseChain) TypeName() string {
	if b == nil || b.Type == "" {
		return "filter"
	}
	return b.Type
}

// Chain is an nf_tables chain as the kernel lists it.
type Chain struct {
	Family   expr.Family // its table's family
	Table    string      // its table's name
	Name     string      // the chain's name
	Handle   uint64      // the handle the kernel gave it
	Base     *BaseChain  // nil for a regular chain
	Use      uint32      // the kernel's use count: the rules in it and the jumps to it
	UserData []byte      // NFTA_CHAIN_USERDATA, or nil
}

// Rule is an nf_tables rule as the kernel lists it.
type Rule struct {
	Family expr.Family // its table's family
	Table  string      // its table's name
	Chain  string      // its chain's name
	Handle uint64      // the handle the kernel gave it
	// Position is the handle of the rule before it in the chain, 0 for the
	// first rule.
	Position uint64
	// Exprs is the payload of NFTA_RULE_EXPRESSIONS as the kernel dumped it,
	// for expr.Raise.
	Exprs []byte
	// UserData is the payload of NFTA_RULE_USERDATA, or nil.
	UserData []byte
	// Counter holds the values of the rule's first counter expression, or is
	// nil when it has none.
	Counter *Counter
}

// Counter is the value of a counter expression.
type Counter struct {
	Packets, Bytes uint64 // the packets and bytes counted
}

// Tables lists the tables of every family.
func (c *Conn) Tables(ctx context.Context) ([]Table, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Table
	r, err := c.dump(ctx, nftType(msgGetTable), 0, nil, func() { out = out[:0] }, func(m nfnl.Message) error {
		t, err := parseTable(m)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, readError("list tables", "", r, err)
	}
	return out, nil
}

// Chains lists the chains of table in family f. A table that does not
// exist is an error.
func (c *Conn) Chains(ctx context.Context, f expr.Family, table string) ([]Chain, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj := f.String() + " " + table
	if err := badNames("list chains", obj, "table", table); err != nil {
		return nil, err
	}
	if err := c.checkTable(ctx, "list chains", f, table); err != nil {
		return nil, err
	}
	var out []Chain
	r, err := c.dump(ctx, nftType(msgGetChain), f, nil, func() { out = out[:0] }, func(m nfnl.Message) error {
		ch, err := parseChain(m)
		if err != nil {
			return err
		}
		if ch.Table == table {
			out = append(out, ch)
		}
		return nil
	})
	if err != nil {
		return nil, readError("list chains", obj, r, err)
	}
	return out, nil
}

// Rules lists the rules of chain in table of family f, in the chain's order.
// A table or chain that does not exist is an error.
func (c *Conn) Rules(ctx context.Context, f expr.Family, table, chain string) ([]Rule, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj := f.String() + " " + table + " " + chain
	if err := badNames("list rules", obj, "table", table, "chain", chain); err != nil {
		return nil, err
	}
	if err := c.checkChain(ctx, f, table, chain); err != nil {
		return nil, err
	}
	ae := nfnl.Encoder{}
	ae.String(attrRuleTable, table)
	ae.String(attrRuleChain, chain)
	attrs := ae.B
	var out []Rule
	r, err := c.dump(ctx, nftType(msgGetRule), f, attrs, func() { out = out[:0] }, func(m nfnl.Message) error {
		ru, err := parseRule(m)
		if err != nil {
			return err
		}
		if ru.Table == table && ru.Chain == chain {
			out = append(out, ru)
		}
		return nil
	})
	if err != nil {
		return nil, readError("list rules", obj, r, err)
	}
	return out, nil
}

// badNames refuses, before anything is sent, names the kernel cannot take
// (what and name pairs: "table", table, …).
func badNames(op, obj string, names ...string) error {
	for i := 0; i+1 < len(names); i += 2 {
		if s := checkName(names[i], names[i+1]); s != "" {
			return &Error{Op: op, Object: obj, Index: -1, Err: errors.New(s)}
		}
	}
	return nil
}

// checkTable asks for one table, so that listing a missing table is an
// error rather than an empty list.
func (c *Conn) checkTable(ctx context.Context, op string, f expr.Family, table string) error {
	ae := nfnl.Encoder{}
	ae.String(attrTableName, table)
	attrs := ae.B
	r, err := c.request(ctx, nftType(msgGetTable), 0, f, attrs, func(nfnl.Message) error { return nil })
	if err != nil {
		e := readError(op, f.String()+" "+table, r, err)
		if isErrno(err, enoent) {
			e.Reason = "no such table " + f.String() + " " + table
		}
		return e
	}
	return nil
}

// checkChain asks for one chain; the kernel's extended ACK says whether the
// table or the chain is missing.
func (c *Conn) checkChain(ctx context.Context, f expr.Family, table, chain string) error {
	ae := nfnl.Encoder{}
	ae.String(attrChainTable, table)
	ae.String(attrChainName, chain)
	attrs := ae.B
	r, err := c.request(ctx, nftType(msgGetChain), 0, f, attrs, func(nfnl.Message) error { return nil })
	if err != nil {
		e := readError("list rules", f.String()+" "+table+" "+chain, r, err)
		if isErrno(err, enoent) {
			switch attrAt(attrs, r.offset) {
			case attrChainTable:
				e.Reason = "no such table " + f.String() + " " + table
			case attrChainName:
				e.Reason = "no such chain " + chain + " in table " + f.String() + " " + table
			default:
				e.Reason = "no such table " + f.String() + " " + table + " or chain " + chain + " in it"
			}
		}
		return e
	}
	return nil
}

// attrAt returns the type of the top-level attribute of a request whose
// attributes are attrs that starts at offset off of the request (header
// included), or -1.
func attrAt(attrs []byte, off int) int {
	if off < 0 {
		return -1
	}
	as, err := nfnl.SplitAttrs(attrs, nfnl.BodyOffset)
	if err != nil {
		return -1
	}
	if a, ok := nfnl.Containing(as, off); ok {
		return int(a.Type)
	}
	return -1
}

func parseTable(m nfnl.Message) (Table, error) {
	t := Table{Family: family(m)}
	attrs, err := nfnl.SplitAttrs(m.Body(), 0)
	if err != nil {
		return t, fmt.Errorf("table: %w", err)
	}
	for _, a := range attrs {
		switch a.Type {
		case attrTableName:
			t.Name = nfnl.String(a.Data)
		case attrTableFlags:
			t.Flags, err = nfnl.U32(a.Data)
		case attrTableUse:
			t.Use, err = nfnl.U32(a.Data)
		case attrTableHandle:
			t.Handle, err = nfnl.U64(a.Data)
		case attrTableUserdata:
			t.UserData = clone(a.Data)
		}
		if err != nil {
			return t, fmt.Errorf("table %s attribute %d: %w", t.Name, a.Type, err)
		}
	}
	return t, nil
}

func parseChain(m nfnl.Message) (Chain, error) {
	ch := Chain{Family: family(m)}
	attrs, err := nfnl.SplitAttrs(m.Body(), 0)
	if err != nil {
		return ch, fmt.Errorf("chain: %w", err)
	}
	var hook []byte
	var typ string
	var policy uint32
	hasPolicy := false
	for _, a := range attrs {
		switch a.Type {
		case attrChainTable:
			ch.Table = nfnl.String(a.Data)
		case attrChainName:
			ch.Name = nfnl.String(a.Data)
		case attrChainHandle:
			ch.Handle, err = nfnl.U64(a.Data)
		case attrChainUse:
			ch.Use, err = nfnl.U32(a.Data)
		case attrChainHook:
			hook = a.Data
		case attrChainType:
			typ = nfnl.String(a.Data)
		case attrChainPolicy:
			policy, err = nfnl.U32(a.Data)
			hasPolicy = true
		case attrChainUserdata:
			ch.UserData = clone(a.Data)
		}
		if err != nil {
			return ch, fmt.Errorf("chain %s attribute %d: %w", ch.Name, a.Type, err)
		}
	}
	if hook != nil {
		b := &BaseChain{Type: typ}
		hattrs, err := nfnl.SplitAttrs(hook, 0)
		if err != nil {
			return ch, fmt.Errorf("chain %s hook: %w", ch.Name, err)
		}
		for _, a := range hattrs {
			switch a.Type {
			case attrHookNum:
				n, err := nfnl.U32(a.Data)
				if err != nil {
					return ch, fmt.Errorf("chain %s hook number: %w", ch.Name, err)
				}
				b.Hook = Hook(n + 1)
			case attrHookPriority:
				p, err := nfnl.U32(a.Data)
				if err != nil {
					return ch, fmt.Errorf("chain %s priority: %w", ch.Name, err)
				}
				b.Priority = int32(p)
			case attrHookDev:
				b.Device = nfnl.String(a.Data)
			}
		}
		if hasPolicy && policy == nfDrop {
			b.Policy = PolicyDrop
		} else if hasPolicy && policy != nfAccept {
			// (The kernel takes no other policy for a chain.)
			return ch, fmt.Errorf("chain %s policy %d: neither accept nor drop", ch.Name, policy)
		}
		ch.Base = b
	}
	return ch, nil
}

func parseRule(m nfnl.Message) (Rule, error) {
	r := Rule{Family: family(m)}
	attrs, err := nfnl.SplitAttrs(m.Body(), 0)
	if err != nil {
		return r, fmt.Errorf("rule: %w", err)
	}
	for _, a := range attrs {
		switch a.Type {
		case attrRuleTable:
			r.Table = nfnl.String(a.Data)
		case attrRuleChain:
			r.Chain = nfnl.String(a.Data)
		case attrRuleHandle:
			r.Handle, err = nfnl.U64(a.Data)
		case attrRulePosition:
			r.Position, err = nfnl.U64(a.Data)
		case attrRuleExpressions:
			r.Exprs = clone(a.Data)
			if p, b, ok, cerr := expr.CounterValues(a.Data); cerr != nil {
				err = cerr
			} else if ok {
				r.Counter = &Counter{Packets: p, Bytes: b}
			}
		case attrRuleUserdata:
			r.UserData = clone(a.Data)
		}
		if err != nil {
			return r, fmt.Errorf("rule %d attribute %d: %w", r.Handle, a.Type, err)
		}
	}
	return r, nil
}

// ruleHandle reads the handle out of an echoed NFT_MSG_NEWRULE.
func ruleHandle(m nfnl.Message) (uint64, bool) {
	b, ok := nfnl.Lookup(m.Body(), attrRuleHandle)
	if !ok {
		return 0, false
	}
	h, err := nfnl.U64(b)
	return h, err == nil
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}
