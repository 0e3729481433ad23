package lab

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/internal/nfnl"
	"github.com/ctmatch/ctmatch/kernel"
)

// The xt side of the differential check: the iptables rule of each case,
// installed with iptables-restore, checked to be run by the kernel's xt
// code, patched where iptables 1.8.9 cannot say the rule, and read back with
// iptables-save.

// xtRule is a case's words as given to iptables, and the masks to patch
// into the installed rule afterwards.
type xtRule struct {
	words   string
	patches []maskPatch
}

// maskPatch is a non-contiguous mask that iptables 1.8.9 cannot install
// (it turns it into a full-length prefix): the lab installs the full-length
// prefix and then writes the mask into the rule's xt_conntrack_mtinfo3.
type maskPatch struct {
	match  int    // which conntrack match of the rule, from 0 (-m state is one too)
	offset int    // of the mask in xt_conntrack_mtinfo3
	mask   []byte // 4 or 16 bytes
	text   string // how iptables-save lists the patched address
}

// The offsets of the masks in struct xt_conntrack_mtinfo3: each address and
// each mask is a union nf_inet_addr of 16 bytes, in the order origsrc,
// origdst, replsrc, repldst, each address followed by its mask.
var maskOffsets = map[string]int{"--ctorigsrc": 16, "--ctorigdst": 48, "--ctreplsrc": 80, "--ctrepldst": 112}

// xtWords returns the words to give iptables for a case's words; ok is
// false when there is nothing to change.
func xtWords(words string) (xtRule, bool) {
	f := strings.Fields(words)
	var r xtRule
	match := -1
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-m" && (f[i+1] == "conntrack" || f[i+1] == "state") {
			match++
		}
		off, ok := maskOffsets[f[i]]
		if !ok {
			continue
		}
		a, m, found := strings.Cut(f[i+1], "/")
		if !found {
			continue
		}
		addr, err1 := netip.ParseAddr(a)
		mask, err2 := netip.ParseAddr(m)
		if err1 != nil || err2 != nil || isPrefixMask(mask) {
			continue
		}
		f[i+1] = a + "/" + strconv.Itoa(addr.BitLen())
		r.patches = append(r.patches, maskPatch{match: match, offset: off, mask: mask.AsSlice(), text: "/" + mask.String()})
	}
	r.words = strings.Join(f, " ")
	return r, r.patches != nil
}

func isPrefixMask(m netip.Addr) bool {
	b := m.AsSlice()
	zero := false
	for _, x := range b {
		for bit := 7; bit >= 0; bit-- {
			one := x>>bit&1 == 1
			if one && zero {
				return false
			}
			if !one {
				zero = true
			}
		}
	}
	return true
}

func xtTool(f Family, suffix string) string {
	if f == IPv6 {
		return "ip6tables" + suffix
	}
	return "iptables" + suffix
}

func xtFamily(f Family) expr.Family {
	if f == IPv6 {
		return expr.FamilyIP6
	}
	return expr.FamilyIP
}

// patchMasks writes masks into the xt_conntrack_mtinfo3 of the only rule of
// chain in iptables' filter table: the rule is read back through kernel/,
// patched in place and replaced, in one transaction.
func patchMasks(ctx context.Context, conn *kernel.Conn, f expr.Family, chain string, patches []maskPatch, alen int) error {
	rules, err := conn.Rules(ctx, f, "filter", chain)
	if err != nil {
		return err
	}
	if len(rules) != 1 {
		return fmt.Errorf("chain %s holds %d rules, want 1", chain, len(rules))
	}
	r := rules[0]
	exprs := slices.Clone(r.Exprs)
	for _, p := range patches {
		info, err := matchInfo(exprs, "conntrack", p.match)
		if err != nil {
			return err
		}
		m := info[p.offset : p.offset+alen]
		for _, x := range m {
			if x != 0xff {
				return fmt.Errorf("the mask at offset %d is % x, not a full-length prefix", p.offset, m)
			}
		}
		copy(m, p.mask)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	tx.AddRule(f, "filter", chain, kernel.RuleSpec{Exprs: exprs, UserData: r.UserData, Source: "patched xt rule"})
	tx.DeleteRule(f, "filter", chain, r.Handle)
	_, err = tx.Commit(ctx)
	return err
}

// xtOnly checks that the rule of chain in iptables' filter table is run by
// the kernel's xt code: xt_conntrack matches (iptables-nft stores -m state
// as one too) and a counter, no native expression.
func xtOnly(ctx context.Context, conn *kernel.Conn, f expr.Family, chain string) error {
	rules, err := conn.Rules(ctx, f, "filter", chain)
	if err != nil {
		return err
	}
	if len(rules) != 1 {
		return fmt.Errorf("chain %s holds %d rules, want 1", chain, len(rules))
	}
	var names []string
	elems, err := nfnl.ExprList(rules[0].Exprs, 0)
	if err != nil {
		return err
	}
	for _, el := range elems {
		x, err := nfnl.ParseExpr(el)
		if err != nil {
			return fmt.Errorf("the iptables rule in chain %s: %w", chain, err)
		}
		names = append(names, x.Name)
	}
	if len(names) < 2 || names[len(names)-1] != "counter" || slices.ContainsFunc(names[:len(names)-1], func(n string) bool { return n != "match" }) {
		return fmt.Errorf("the iptables rule in chain %s is %v, not xt matches and a counter", chain, names)
	}
	if _, err := matchInfo(rules[0].Exprs, "conntrack", 0); err != nil {
		return err
	}
	return nil
}

// matchInfo returns the NFTA_MATCH_INFO payload of the n-th (from 0) xt
// match expression named name in exprs (a slice of exprs, so that writing
// to it patches the rule).
func matchInfo(exprs []byte, name string, n int) ([]byte, error) {
	elems, err := nfnl.ExprList(exprs, 0)
	if err != nil {
		return nil, err
	}
	for _, el := range elems {
		x, err := nfnl.ParseExpr(el)
		if err != nil {
			return nil, err
		}
		if x.Name != "match" {
			continue
		}
		var mname string
		var info []byte
		for _, a := range x.Attrs {
			switch a.Type {
			case 1: // NFTA_MATCH_NAME
				mname = nfnl.String(a.Data)
			case 3: // NFTA_MATCH_INFO
				info = a.Data
			}
		}
		if mname == name && len(info) >= 128 {
			if n == 0 {
				return info, nil
			}
			n--
		}
	}
	return nil, fmt.Errorf("no %s match number %d in the rule", name, n)
}

var saveLine = regexp.MustCompile(`^\[(\d+):(\d+)\] -A (L[A-Z]*\d+|L[A-Z]*BEYOND)(?: (.*))?$`)

// isDigits reports whether s is a non-empty run of decimal digits.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// Point.beyond holds the lab's own xt rule, beside the cases' chains: it
// counts the first packets of conntracks (not confirmed yet) that may read
// more than nft's 32 bits of milliseconds hold (Reading.MaybeBeyond32).
// Those from 4,294,968 s on are all beyond them; of those that read
// 4,294,967 s, only the last 0.704 s of the second are (from
// 4,294,967,296 ms on). xt compares whole seconds and nft reads those
// milliseconds modulo 2³², so no rule of either counts exactly the packets
// beyond: the rule counts the whole second 4,294,967 too, and Report.Beyond
// says so.
const (
	beyondWords = "-m conntrack ! --ctstatus CONFIRMED --ctexpire 4294967:4294967295"
)

// xtCounts reads the packets of each case's xt rule at a point with
// iptables-save -c (and ip6tables-save -c, and the legacy tools' for the
// cases iptables-legacy runs), and those of the lab's rule (Point.beyond) of
// each family. A case that does not run at the point counts nothing and
// has no words there.
func (l *Lab) xtCounts(in *installed, cases []Case) ([]uint64, []string, map[Family]uint64, error) {
	counts := make([]uint64, len(cases))
	words := make([]string, len(cases))
	seen := make([]bool, len(cases))
	beyond := map[Family]uint64{}
	for _, f := range []Family{IPv4, IPv6} {
		for _, be := range in.xt[f] {
			tool := be.tool(f, "-save")
			out, err := l.Run(in.ns, "", tool, "-c", "-t", "filter")
			if err != nil {
				return nil, nil, nil, err
			}
			found := false
			for _, line := range strings.Split(out, "\n") {
				m := saveLine.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				n, _ := strconv.ParseUint(m[1], 10, 64)
				if !strings.HasPrefix(m[3], "L"+in.pt.in) || m[3] != in.pt.beyond() && !isDigits(m[3][len(in.pt.in)+1:]) {
					continue // another point's chain in the same namespace
				}
				if m[3] == in.pt.beyond() {
					if found || be != xtNFT {
						return nil, nil, nil, fmt.Errorf("%s: unexpected rule %q", tool, line)
					}
					found = true
					beyond[f] = n
					continue
				}
				i, _ := strconv.Atoi(m[3][len(in.pt.in)+1:])
				if i >= len(cases) || cases[i].Family != f || seen[i] || backendOf(in.infos[i]) != be {
					return nil, nil, nil, fmt.Errorf("%s: unexpected rule %q", tool, line)
				}
				seen[i] = true
				counts[i] = n
				words[i] = m[4]
			}
			if in.beyond[f] && be == xtNFT && !found {
				return nil, nil, nil, fmt.Errorf("%s: %s lists no rule in chain %s", in.pt.Name, tool, in.pt.beyond())
			}
		}
	}
	for i, s := range seen {
		if !s && in.has(i, cases[i]) {
			return nil, nil, nil, fmt.Errorf("%s: no rule for case %s in chain %s", in.pt.Name, cases[i].Name, in.pt.chain(i))
		}
	}
	return counts, words, beyond, nil
}

// xtSaved returns each case's xt rule as the save tool lists it, at the
// first point the case runs at.
func (l *Lab) xtSaved(ins []*installed, cases []Case) ([]string, error) {
	saved := make([]string, len(cases))
	for _, in := range ins {
		_, words, _, err := l.xtCounts(in, cases)
		if err != nil {
			return nil, err
		}
		for i, w := range words {
			if saved[i] == "" {
				saved[i] = w
			}
		}
	}
	return saved, nil
}
