package expr

import "github.com/ctmatch/ctmatch/internal/nfnl"

// This file holds nft's tests of a packet's IPsec state: "meta secpath
// exists|missing" (the packet came through IPsec decapsulation) and "rt
// ipsec exists|missing" (its route goes through an IPsec transformation).

// Keys and attributes of the secpath and rt ipsec tests.
const (
	metaSecpath = 25 // NFT_META_SECPATH
	attrRtDreg  = 1  // NFTA_RT_DREG
	attrRtKey   = 2  // NFTA_RT_KEY
	rtXfrm      = 4  // NFT_RT_XFRM
)

// IPsec is "meta secpath exists" (Out false) or "rt ipsec exists" (Out
// true), or with Exists false "… missing". nft_meta.c's SECPATH stores
// secpath_exists(skb), whether the skb carries a sec_path (the xfrm input
// path attaches one); nft_rt.c's XFRM stores !!skb_dst(skb)->xfrm, and
// breaks the rule when the skb has no route. nft 1.0.6 sends each as the
// load and a cmp eq of one byte, 1 or 0.
type IPsec struct {
	Out    bool
	Exists bool
}

func (IPsec) isMatch() {}

// String returns the nft text of the match, e.g. "meta secpath exists".
func (m IPsec) String() string { return string(m.appendText(nil)) }

func (m IPsec) appendText(b []byte) []byte {
	if m.Out {
		b = append(b, "rt ipsec "...)
	} else {
		b = append(b, "meta secpath "...)
	}
	if m.Exists {
		return append(b, "exists"...)
	}
	return append(b, "missing"...)
}

// lowerIPsec appends what nft 1.0.6 sends for the test.
func lowerIPsec(ae *nfnl.Encoder, m IPsec) {
	if m.Out {
		at := ae.BeginExpr("rt")
		ae.U32(attrRtKey, rtXfrm)
		ae.U32(attrRtDreg, reg1)
		ae.EndExpr(at)
	} else {
		at := ae.BeginExpr("meta")
		ae.U32(attrMetaKey, metaSecpath)
		ae.U32(attrMetaDreg, reg1)
		ae.EndExpr(at)
	}
	var v byte
	if m.Exists {
		v = 1
	}
	putCmp(ae, cmpEq, []byte{v})
}

// ipsec reads the load of meta secpath or rt ipsec at index i and its cmp
// eq of one byte, 1 or 0.
func (p *raiser) ipsec(i int) (Match, error) {
	e := &p.es[i]
	m := IPsec{Out: e.name == "rt"}
	key, dreg, name := uint16(attrMetaKey), uint16(attrMetaDreg), "meta secpath"
	if m.Out {
		key, dreg, name = attrRtKey, attrRtDreg, "rt ipsec"
		if err := p.only(i, attrRtKey, attrRtDreg); err != nil {
			return nil, err
		}
		if e.u[attrRtKey] != rtXfrm {
			return nil, p.fail(i, "the only rt key ctmatch reads is ipsec")
		}
	}
	if !e.has(dreg) || !e.has(key) {
		return nil, p.fail(i, "%s that loads nothing", name)
	}
	slot := regSlot(e.u[dreg])
	if slot < 0 {
		return nil, p.fail(i, "%s loads into register %d", name, e.u[dreg])
	}
	p.i = i + 1
	j, err := p.cmp(i, slot)
	if err != nil {
		return nil, err
	}
	c := &p.es[j]
	v := c.data[attrCmpData].value
	if c.u[attrCmpOp] != cmpEq || len(v) != 1 || v[0] > 1 {
		return nil, p.fail(j, "%s is tested only for equality with exists or missing", name)
	}
	m.Exists = v[0] == 1
	return m, nil
}

// appendJSON writes the test as nft 1.0.6 lists it with -j: {"meta":
// {"key": "ipsec"}} (meta secpath) or {"rt": {"key": "ipsec"}}, == true
// (exists) or false (missing).
func (m IPsec) appendJSON(b []byte) []byte {
	kind := "meta"
	if m.Out {
		kind = "rt"
	}
	right := "false"
	if m.Exists {
		right = "true"
	}
	return appendJSONMatch(b, "==", appendJSONKeyed(nil, kind, "ipsec", ""), []byte(right))
}
