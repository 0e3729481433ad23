package expr_test

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/nftwire"
)

// (e) Every case, loaded with nft into a namespace and read back with a raw
// NFT_MSG_GETRULE dump, raises to the case. The dump is not what was sent;
// the test pins down exactly how it differs, expression by expression, so
// that a kernel that changes its dump shows up here first:
//
//   - ct protocol comes back without NFTA_CT_DIRECTION;
//   - bitwise comes back with NFTA_BITWISE_OP (0) when nft did not send it;
//   - counter comes back with NFTA_COUNTER_BYTES and NFTA_COUNTER_PACKETS;
//   - attributes come in the kernel's order (ct: DREG before KEY; bitwise:
//     OP after LEN) and nested attributes without NLA_F_NESTED (not
//     checked here: the comparison ignores order and flags);
//   - the statements (stmt_test.go's stmtDumpDiff): nat gains
//     NF_NAT_RANGE_MAP_IPS in its flags, and nat, masq and redir name the
//     first address's or port's register as the last one when nft sent
//     none; a tcp reset loses its code; a log without a level gains level 4;
//     a payload write gains the checksum attributes nft left out, as 0.
//
// Every other expression comes back with the same attributes and payloads.
func TestRaiseKernelDump(t *testing.T) {
	ns := ktest.Namespace(t, "nft")
	nf := newForms(t)
	seen := make(map[string]bool) // the kinds of differences met
	total := 0
	for _, family := range nftFamilies {
		fam := families[family]
		var cases []wireCase
		var texts []string
		for _, tc := range wireCases() {
			if fitsFamily(tc.rule, family) {
				cases = append(cases, tc)
				texts = append(texts, nftRuleText(tc.rule, family))
			}
		}
		ktest.Run(t, ns, nftScript(family, texts...), "nft", "-f", "-")
		var rules []nftwire.Rule
		err := ns.Do(func() error {
			var err error
			rules, err = nftwire.GetRules(uint8(fam), "t", "c")
			return err
		})
		if err != nil {
			t.Fatalf("%s: dump: %v", family, err)
		}
		if len(rules) != len(cases) {
			t.Fatalf("%s: the kernel dumped %d rules for %d cases", family, len(rules), len(cases))
		}
		for i, tc := range cases {
			total++
			dumped := dropExprs(rules[i].Exprs, prefixExprs(tc.rule, family))
			got, err := expr.Raise(fam, dumped)
			if err != nil {
				t.Errorf("%s in %s: Raise(kernel dump): %v", tc.name, family, err)
				continue
			}
			if diff := cmp.Diff(canonical(tc.rule), got, cmpAddr); diff != "" && !(nf && sameRaised(fam, got, tc.rule)) {
				t.Errorf("%s in %s: Raise(kernel dump) (-want +got):\n%s", tc.name, family, diff)
			}
			sent, err := tc.rule.Lower(fam)
			if err != nil {
				t.Fatalf("%s in %s: Lower: %v", tc.name, family, err)
			}
			if nf && !sameShape(sent, dumped) {
				// nft 1.1.2 sent its own form of the meaning, which the
				// raise above holds to the case; the dump is compared
				// attribute by attribute only with what had Lower's shape.
				continue
			}
			for _, d := range dumpDiffs(t, sent, dumped) {
				seen[d] = true
			}
		}
	}
	var kinds []string
	for k := range seen {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	want := []string{
		"bitwise: gains NFTA_BITWISE_OP",
		"counter: gains NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS",
		"ct protocol: loses NFTA_CT_DIRECTION",
		"log: gains NFTA_LOG_LEVEL 4 (the default nft_log_init gives a log without one)",
		"masq: gains NFTA_MASQ_REG_PROTO_MAX (the first port's register)",
		"nat: NFTA_NAT_FLAGS gains NF_NAT_RANGE_MAP_IPS",
		"nat: gains NFTA_NAT_REG_ADDR_MAX (the first address's register)",
		"nat: gains NFTA_NAT_REG_PROTO_MAX (the first port's register)",
		"payload write: gains the checksum attributes nft left out, as 0 (the kernel dumps all three)",
		"redir: gains NFTA_REDIR_REG_PROTO_MAX (the first port's register)",
		"reject: loses NFTA_REJECT_ICMP_CODE (tcp reset)",
	}
	if nf {
		// Some kinds are met only in rules that nft 1.1.2 sends in its
		// own form: none may be new.
		var unknown []string
		for _, k := range kinds {
			if !slices.Contains(want, k) {
				unknown = append(unknown, k)
			}
		}
		kinds, want = unknown, nil
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("the kernel dump differs from what was sent in other ways than known (-known +seen):\n%s", diff)
	}
	if total < 250 {
		t.Errorf("only %d rule and family pairs compared", total)
	}
}

// sameShape reports whether the expression lists a and b have the same
// expressions, by name, in the same order.
func sameShape(a, b []byte) bool {
	la, errA := expr.DebugLines(a)
	lb, errB := expr.DebugLines(b)
	if errA != nil || errB != nil || len(la) != len(lb) {
		return false
	}
	for i := range la {
		if strings.Fields(la[i])[1] != strings.Fields(lb[i])[1] {
			return false
		}
	}
	return true
}

// dumpDiffs compares, expression by expression, what was sent with what the
// kernel dumped, ignoring attribute order and flags, and names each
// difference; a difference outside the known kinds fails the test.
func dumpDiffs(t *testing.T, sent, dumped []byte) []string {
	t.Helper()
	se, de := splitAttrs(sent), splitAttrs(dumped)
	if len(se) != len(de) {
		t.Errorf("sent %d expressions, the kernel dumped %d", len(se), len(de))
		return nil
	}
	var out []string
	for i := range se {
		sname, sattrs := exprAttrs(t, se[i])
		dname, dattrs := exprAttrs(t, de[i])
		if sname != dname {
			t.Errorf("expression %d: sent %s, dumped %s", i+1, sname, dname)
			continue
		}
		var gained, lost []string
		for typ, v := range dattrs {
			sv, ok := sattrs[typ]
			switch {
			case !ok && stmtDumpDiff(sname, typ, nil, v) != "":
				out = append(out, stmtDumpDiff(sname, typ, nil, v))
			case !ok:
				gained = append(gained, attrName(sname, typ))
			case stmtDumpDiff(sname, typ, sv, v) != "":
				out = append(out, stmtDumpDiff(sname, typ, sv, v))
			case !bytes.Equal(flatten(sv), flatten(v)):
				t.Errorf("expression %d (%s): attribute %s sent %x, dumped %x", i+1, sname, attrName(sname, typ), sv, v)
			}
		}
		for typ := range sattrs {
			if _, ok := dattrs[typ]; !ok && sname == "reject" && typ == 2 {
				out = append(out, "reject: loses NFTA_REJECT_ICMP_CODE (tcp reset)")
			} else if !ok {
				lost = append(lost, attrName(sname, typ))
			}
		}
		sort.Strings(gained)
		sort.Strings(lost)
		label := sname
		if sname == "ct" {
			label = "ct " + map[bool]string{true: "protocol", false: "other key"}[bytes.Equal(sattrs[2], []byte{0, 0, 0, 10})]
		}
		if len(gained) > 0 {
			out = append(out, label+": gains "+strings.Join(gained, ", "))
		}
		if len(lost) > 0 {
			out = append(out, label+": loses "+strings.Join(lost, ", "))
		}
	}
	return out
}

// exprAttrs returns the name of one NFTA_LIST_ELEM and its NFTA_EXPR_DATA
// attributes by type (without flags), each with its raw payload.
func exprAttrs(t *testing.T, elem []byte) (string, map[uint16][]byte) {
	t.Helper()
	var name string
	attrs := make(map[uint16][]byte)
	for _, a := range splitAttrs(elem[4:]) {
		typ, payload := attrTypePayload(a)
		switch typ {
		case 1:
			name = strings.TrimRight(string(payload), "\x00")
		case 2:
			for _, x := range splitAttrs(payload) {
				xt, xp := attrTypePayload(x)
				if _, dup := attrs[xt]; dup {
					t.Errorf("%s: attribute %d twice", name, xt)
				}
				attrs[xt] = xp
			}
		}
	}
	return name, attrs
}

func attrTypePayload(a []byte) (uint16, []byte) {
	n := int(a[0]) | int(a[1])<<8
	typ := (uint16(a[2]) | uint16(a[3])<<8) &^ 0xc000
	return typ, a[4:n]
}

// flatten returns a payload with every nested attribute's flags cleared, so
// that nested payloads compare regardless of NLA_F_NESTED.
func flatten(b []byte) []byte {
	out := bytes.Clone(b)
	for i := 0; i+4 <= len(out); {
		n := int(out[i]) | int(out[i+1])<<8
		if n < 4 || i+n > len(out) {
			return b
		}
		if out[i+3]&0x80 != 0 {
			out[i+3] &^= 0xc0
			copy(out[i+4:i+n], flatten(out[i+4:i+n]))
		}
		i += (n + 3) &^ 3
	}
	return out
}

func attrName(expr string, typ uint16) string {
	if names := attrNames[expr]; int(typ) < len(names) && names[typ] != "" {
		return names[typ]
	}
	switch expr + fmt.Sprint(typ) {
	case "counter1":
		return "NFTA_COUNTER_BYTES"
	case "counter2":
		return "NFTA_COUNTER_PACKETS"
	case "counter3":
		return "NFTA_COUNTER_PAD"
	}
	return fmt.Sprintf("%s attribute %d", expr, typ)
}
