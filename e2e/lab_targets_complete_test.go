package e2e

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/internal/lab"
	"github.com/ctmatch/ctmatch/parse"
)

// comparedRule is a rule with a target extension that a packet test loads
// once as the kernel's xt target (iptables-legacy, ip6tables-legacy) and
// once as ctmatch's rules, and whose effects it compares.
type comparedRule struct {
	test   string
	family lab.Family
	words  string
}

// comparedTargetRules are the rules the packet tests of the targets
// compare, taken from the tests' own case lists: the effect observer
// (REJECT, the NAT targets, NETMAP), the NAT flows, the marks a later rule
// and conntrack read (MARK, CONNMARK, and the masks that combine both
// marks), the NFLOG listener, the conntrack table after CT --notrack and
// NOTRACK, the TOS byte after DSCP, and the zone of the conntrack entry
// after CT with a zone.
func comparedTargetRules() []comparedRule {
	var out []comparedRule
	add := func(test string, f lab.Family, words string) {
		out = append(out, comparedRule{test, f, words})
	}
	fam := func(ipv6 bool) lab.Family {
		if ipv6 {
			return lab.IPv6
		}
		return lab.IPv4
	}
	for _, c := range effectCases() {
		add("TestLabTargetEffects", c.Family, c.Words)
	}
	for _, c := range natFlowCases() {
		add("TestLabNATFlows", c.Family, c.Words)
	}
	for _, c := range netmapEffectCases() {
		add("TestLabNetmapEffects", c.Family, c.Words)
	}
	for i, p := range markEffectProbes {
		add("TestMarkEffects", fam(p.ipv6), "-t mangle -A OUTPUT "+strings.Join(markEffectRule(i), " "))
	}
	for i, p := range combinedMarkProbes() {
		add("TestCombinedMarksEffects", fam(p.ipv6), "-t mangle -A OUTPUT "+strings.Join(append(combinedMarkMatch(i), combinedMarkTarget(p)...), " "))
	}
	for i, p := range nflogProbes {
		add("TestNFLOGListener", fam(p.ipv6), "-A OUTPUT "+strings.Join(nflogRule(i), " "))
	}
	for i, p := range notrackProbes {
		rule, _ := notrackRule(i)
		add("TestNotrackEffect", fam(p.ipv6), "-A OUTPUT "+strings.Join(rule, " "))
	}
	for i, p := range zoneProbes {
		for _, target := range p.targets {
			add("TestCTZoneEffect", fam(p.ipv6), fmt.Sprintf("-t raw -A OUTPUT -p udp --dport %d %s", 9400+i, strings.Join(target, " ")))
		}
	}
	for i, p := range dscpProbes {
		add("TestDSCPEffect", fam(p.v6), "-t mangle -A OUTPUT "+strings.Join(dscpRule(i), " "))
	}
	return out
}

// targetForms names the target forms of a rule: the target alone when it
// has no option ("REJECT"); each option as "NAME --OPTION", REJECT's with
// its type ("REJECT --reject-with icmp-host-prohibited"); the value
// shapes of the NAT targets' options (an address range, one port, a port
// range); MARK's and CONNMARK's values written with a mask; the kernel's
// masks of MARK and CONNMARK (xt_mark_tginfo2's, xt_connmark_tginfo1's),
// each as all ones, 0 or partial, per operation; NETMAP's direction, which
// its chain gives. A rule without a target extension has none.
func targetForms(r *parse.Rule) []string {
	t := r.Target
	if t == nil || t.Kind != parse.TargetExtension {
		return nil
	}
	n := t.Name
	var out []string
	if len(t.Options) == 0 {
		out = append(out, n)
	}
	for _, o := range t.Options {
		form := n + " --" + o.Kind.String()
		if o.Kind == parse.OptRejectWith {
			out = append(out, form+" "+o.Reject.String())
			continue
		}
		out = append(out, form)
		switch o.Kind {
		case parse.OptToSource, parse.OptToDestination, parse.OptToPorts:
			if o.AddrMax.IsValid() && o.AddrMax != o.Addr {
				out = append(out, form+" address range")
			}
			switch {
			case o.PortMin != 0 && o.PortMin == o.PortMax:
				out = append(out, form+" port")
			case o.PortMin < o.PortMax:
				out = append(out, form+" port range")
			}
		case parse.OptSetMark, parse.OptSetXMark:
			if strings.Contains(o.Value.Text, "/") {
				out = append(out, form+" value/mask")
			}
		}
	}
	if n == "MARK" || n == "CONNMARK" {
		class := func(m uint32) string {
			switch m {
			case math.MaxUint32:
				return "all"
			case 0:
				return "0"
			}
			return "partial"
		}
		switch m := t.MarkInfo(); m.Mode {
		case parse.MarkSet:
			out = append(out, n+" set, mask "+class(m.Mask))
		case parse.MarkSave:
			out = append(out, n+" --save-mark, nfmask "+class(m.NfMask), n+" --save-mark, ctmask "+class(m.CtMask))
		case parse.MarkRestore:
			out = append(out, n+" --restore-mark, nfmask "+class(m.NfMask), n+" --restore-mark, ctmask "+class(m.CtMask))
		}
	}
	if n == "NETMAP" && r.Command != nil {
		switch r.Command.Chain {
		case "PREROUTING", "OUTPUT":
			out = append(out, "NETMAP --to, destination")
		case "POSTROUTING", "INPUT":
			out = append(out, "NETMAP --to, source")
		}
	}
	return out
}

// parseFamily parses words as iptables (IPv4) or ip6tables (IPv6) words.
func parseFamily(f lab.Family, words string) (*parse.Rule, error) {
	pf := parse.IPv4
	if f == lab.IPv6 {
		pf = parse.IPv6
	}
	return parse.ParseText(words, parse.Options{Family: pf})
}

// validTargetForms returns the target forms of the valid cases of
// internal/cases, by family, with a case that has each.
func validTargetForms(t *testing.T) map[lab.Family]map[string]string {
	t.Helper()
	out := map[lab.Family]map[string]string{lab.IPv4: {}, lab.IPv6: {}}
	for _, vc := range cases.Valid {
		f := lab.IPv4
		if vc.Family == parse.IPv6 {
			f = lab.IPv6
		}
		r, err := parse.ParseArgs(vc.Args, parse.Options{Family: vc.Family})
		if err != nil {
			t.Fatalf("valid case %s: %v", vc.Name, err)
		}
		for _, form := range targetForms(r) {
			if _, ok := out[f][form]; !ok {
				out[f][form] = vc.Name
			}
		}
	}
	return out
}

// logNotObserved is why LOG's forms have no packet comparison.
const logNotObserved = "LOG logs nothing in a network namespace other than the host's unless the host-wide sysctl " +
	"net.netfilter.nf_log_all_netns is 1, which a test must not change: LOG is proven by nft's bytes and the kernel's " +
	"dumps (compile's nft oracle) and by its NFLOG twin (TestNFLOGListener), which reaches the same nf_log_packet"

// notShown are the forms that packet tests compare in rules but whose
// effect their probes cannot tell from the form's absence: they count as
// compared by no test (and stand in targetFormExceptions with the reason).
var notShown = map[string]bool{
	"DNAT --random": true, "MASQUERADE --random": true, "MASQUERADE --random-fully": true,
	"REDIRECT --random": true, "NFLOG --nflog-threshold": true,
}

// randomPortNotShown is why the random port flags of DNAT, MASQUERADE and
// REDIRECT have no packet comparison of their own.
const randomPortNotShown = "with --random (--random-fully) nf_nat draws the port at random even for a port it would keep, " +
	"so a kept port and a drawn one look alike in a few flows, and without a source mapping to reuse the flag changes no address; " +
	"SNAT's flags are shown by the address its flows get, these by nft's bytes and the kernel's dumps only"

// thresholdNotShown is why NFLOG's --nflog-threshold has no packet
// comparison of its own.
const thresholdNotShown = "the threshold only delays records the listener gets all the same (the kernel flushes them within a second): " +
	"shown by nft's bytes and the kernel's dumps only"

// targetFormExceptions are the target forms of internal/cases that no
// packet test need compare, each with the reason. Every other form of
// every target ctmatch translates has a rule in some packet test's list.
var targetFormExceptions = map[string]string{
	"DNAT --random":             randomPortNotShown,
	"MASQUERADE --random":       randomPortNotShown,
	"MASQUERADE --random-fully": randomPortNotShown,
	"REDIRECT --random":         randomPortNotShown,
	"NFLOG --nflog-threshold":   thresholdNotShown,
	"LOG":                       logNotObserved,
	"LOG --log-prefix":          logNotObserved,
	"LOG --log-level":           logNotObserved,
	"LOG --log-tcp-sequence":    logNotObserved,
	"LOG --log-tcp-options":     logNotObserved,
	"LOG --log-ip-options":      logNotObserved,
	"LOG --log-uid":             logNotObserved,
	"LOG --log-macdecode":       logNotObserved,
}

// targetFormsMissing returns the target forms of internal/cases, by
// family, that no rule of compared has, but for targetFormExceptions; the
// tests that compare each form; and the problems with the rules
// themselves (words that do not parse, or have no target extension).
func targetFormsMissing(t *testing.T, compared []comparedRule) (missing []string, by map[string]map[string]bool, problems []string) {
	t.Helper()
	by = map[string]map[string]bool{}
	for _, c := range compared {
		r, err := parseFamily(c.family, c.words)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %q (%s): %v", c.test, c.words, c.family, err))
			continue
		}
		forms := targetForms(r)
		if len(forms) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %q (%s) has no target extension", c.test, c.words, c.family))
		}
		for _, form := range forms {
			if notShown[form] {
				continue
			}
			key := c.family.String() + " " + form
			if by[key] == nil {
				by[key] = map[string]bool{}
			}
			by[key][c.test] = true
		}
	}
	valid := validTargetForms(t)
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		var names []string
		for form := range valid[f] {
			names = append(names, form)
		}
		slices.Sort(names)
		for _, form := range names {
			if by[f.String()+" "+form] == nil && targetFormExceptions[form] == "" {
				missing = append(missing, fmt.Sprintf("%s %q (internal/cases: %s)", f, form, valid[f][form]))
			}
		}
	}
	return missing, by, problems
}

// Every target form of the valid cases of internal/cases (targetForms:
// each target ctmatch translates, each of its options, REJECT's types,
// the NAT targets' value shapes and flags, MARK's and CONNMARK's
// operations and masks, NETMAP's directions), in each family, is compared
// with packets, xt against ctmatch, by some rule of the packet tests' own
// lists (comparedTargetRules), but for the forms targetFormExceptions
// names with a reason. A new target option's valid cases make this fail
// until a packet test compares a rule with it. (No kernel needed.)
func TestLabTargetsComplete(t *testing.T) {
	missing, by, problems := targetFormsMissing(t, comparedTargetRules())
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	for _, m := range missing {
		t.Errorf("no packet comparison of a rule with %s", m)
	}
	valid := validTargetForms(t)
	for form, why := range targetFormExceptions {
		if valid[lab.IPv4][form] == "" && valid[lab.IPv6][form] == "" {
			t.Errorf("exception %q names no form of internal/cases (%s)", form, why)
		}
		for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
			if by[f.String()+" "+form] != nil {
				t.Errorf("exception %q: %s compares it in %s; drop the exception", form, slices.Sorted(mapKeys(by[f.String()+" "+form])), f)
			}
		}
	}
	// Each target ctmatch translates has forms in every family whose
	// iptables has it (optionTargets), so that no family of it goes
	// unchecked.
	for _, ot := range optionTargets {
		has := map[lab.Family]bool{}
		for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
			for form := range valid[f] {
				if name, _, _ := strings.Cut(form, " "); name == ot.name {
					has[f] = true
				}
			}
		}
		if !has[lab.IPv4] && !has[lab.IPv6] {
			continue // refused: no valid case
		}
		if ot.v4 && !has[lab.IPv4] || ot.v6 && !has[lab.IPv6] {
			t.Errorf("%s: valid cases of internal/cases in ipv4 %v, ipv6 %v; want both families iptables has it in", ot.name, has[lab.IPv4], has[lab.IPv6])
		}
	}
	n := len(valid[lab.IPv4]) + len(valid[lab.IPv6])
	var lines []string
	for _, f := range []lab.Family{lab.IPv4, lab.IPv6} {
		var names []string
		for form := range valid[f] {
			names = append(names, form)
		}
		slices.Sort(names)
		for _, form := range names {
			tests := slices.Sorted(mapKeys(by[f.String()+" "+form]))
			if len(tests) == 0 {
				tests = []string{"exception"}
			}
			lines = append(lines, fmt.Sprintf("  %s %-45s %s", f, form, strings.Join(tests, ", ")))
		}
	}
	t.Logf("%d target forms in internal/cases (ipv4 %d, ipv6 %d), %d exceptions, %d rules compared:\n%s",
		n, len(valid[lab.IPv4]), len(valid[lab.IPv6]), len(targetFormExceptions), len(comparedTargetRules()), strings.Join(lines, "\n"))
}

// mapKeys returns the keys of a set.
func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// The check can fail: without the effect observer's REJECT with
// icmp-admin-prohibited it misses exactly that IPv4 form, without the NFLOG
// listener's IPv6 probes exactly ip6tables' NFLOG options, and it reports
// a compared rule that does not parse and one without a target extension.
func TestLabTargetsCompleteCatchesAGap(t *testing.T) {
	compared := slices.DeleteFunc(comparedTargetRules(), func(c comparedRule) bool {
		return strings.Contains(c.words, "icmp-admin-prohibited")
	})
	missing, _, problems := targetFormsMissing(t, compared)
	want := []string{`ipv4 "REJECT --reject-with icmp-admin-prohibited" (internal/cases: ` +
		validTargetForms(t)[lab.IPv4]["REJECT --reject-with icmp-admin-prohibited"] + `)`}
	if !slices.Equal(missing, want) || problems != nil {
		t.Errorf("missing = %q, want %q; problems: %q", missing, want, problems)
	}
	// Without the NFLOG listener's IPv6 probes, ip6tables' NFLOG options
	// go uncompared.
	compared = slices.DeleteFunc(comparedTargetRules(), func(c comparedRule) bool {
		return c.test == "TestNFLOGListener" && c.family == lab.IPv6
	})
	missing, _, _ = targetFormsMissing(t, compared)
	var got []string
	for _, m := range missing {
		form, _, _ := strings.Cut(m, " (")
		got = append(got, form)
	}
	want = []string{`ipv6 "NFLOG --nflog-group"`, `ipv6 "NFLOG --nflog-prefix"`, `ipv6 "NFLOG --nflog-range"`,
		`ipv6 "NFLOG --nflog-size"`}
	if !slices.Equal(got, want) {
		t.Errorf("without the IPv6 NFLOG probes: missing = %q, want %q", got, want)
	}
	_, _, problems = targetFormsMissing(t, []comparedRule{
		{"a", lab.IPv4, "-A FORWARD -j REJECT --reject-with bogus"},
		{"b", lab.IPv4, "-A FORWARD -p udp -j ACCEPT"},
		{"c", lab.IPv6, "-A FORWARD -j REJECT --reject-with icmp6-no-route"},
	})
	if len(problems) != 2 {
		t.Errorf("problems = %q, want a parse error and a rule without a target extension", problems)
	}
}

// targetForms names the forms of a rule. (No kernel needed.)
func TestTargetForms(t *testing.T) {
	for _, c := range []struct {
		family lab.Family
		words  string
		want   []string
	}{
		{lab.IPv4, "-A INPUT -j REJECT", []string{"REJECT"}},
		{lab.IPv4, "-A INPUT -j REJECT --reject-with p", []string{"REJECT --reject-with icmp-proto-unreachable"}},
		{lab.IPv6, "-A INPUT -j REJECT --reject-with p", []string{"REJECT --reject-with icmp6-port-unreachable"}},
		{lab.IPv4, "-A INPUT -p tcp -j ACCEPT", nil},
		{lab.IPv4, "-t nat -A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4-1.2.3.9:80-90 --persistent",
			[]string{"SNAT --to-source", "SNAT --to-source address range", "SNAT --to-source port range", "SNAT --persistent"}},
		{lab.IPv4, "-t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.4", []string{"SNAT --to-source"}},
		{lab.IPv6, "-t nat -A PREROUTING -p tcp -j DNAT --to-destination [2001:db8::1]:80 --random",
			[]string{"DNAT --to-destination", "DNAT --to-destination port", "DNAT --random"}},
		{lab.IPv4, "-t nat -A PREROUTING -p tcp -j REDIRECT", []string{"REDIRECT"}},
		{lab.IPv4, "-t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 80-90", []string{"REDIRECT --to-ports", "REDIRECT --to-ports port range"}},
		{lab.IPv4, "-t mangle -A INPUT -j MARK --set-mark 1", []string{"MARK --set-mark", "MARK set, mask all"}},
		{lab.IPv4, "-t mangle -A INPUT -j MARK --set-mark 0x10/0xf0", []string{"MARK --set-mark", "MARK --set-mark value/mask", "MARK set, mask partial"}},
		{lab.IPv4, "-t mangle -A INPUT -j MARK --xor-mark 4", []string{"MARK --xor-mark", "MARK set, mask 0"}},
		{lab.IPv4, "-t mangle -A INPUT -j CONNMARK --set-mark 1 --mask 0xff", []string{"CONNMARK --set-mark", "CONNMARK --mask", "CONNMARK set, mask partial"}},
		{lab.IPv4, "-t mangle -A INPUT -j CONNMARK --save-mark --nfmask 0 --ctmask 0xff",
			[]string{"CONNMARK --save-mark", "CONNMARK --nfmask", "CONNMARK --ctmask", "CONNMARK --save-mark, nfmask 0", "CONNMARK --save-mark, ctmask partial"}},
		{lab.IPv6, "-t mangle -A INPUT -j CONNMARK --restore-mark", []string{"CONNMARK --restore-mark", "CONNMARK --restore-mark, nfmask all", "CONNMARK --restore-mark, ctmask all"}},
		{lab.IPv4, "-t nat -A OUTPUT -j NETMAP --to 10.0.0.0/8", []string{"NETMAP --to", "NETMAP --to, destination"}},
		{lab.IPv4, "-t nat -A nat_chain -j NETMAP --to 10.0.0.0/8", []string{"NETMAP --to"}},
		{lab.IPv4, "-t raw -A OUTPUT -j NOTRACK", []string{"NOTRACK"}},
		{lab.IPv4, "-t raw -A OUTPUT -j CT --notrack", []string{"CT --notrack"}},
		{lab.IPv4, "-A INPUT -j NFLOG --nflog-range 5", []string{"NFLOG --nflog-range"}},
		{lab.IPv4, "-t mangle -A OUTPUT -j DSCP --set-dscp-class ef", []string{"DSCP --set-dscp-class"}},
	} {
		r, err := parseFamily(c.family, c.words)
		if err != nil {
			t.Fatalf("%s: %v", c.words, err)
		}
		if got := targetForms(r); !slices.Equal(got, c.want) {
			t.Errorf("targetForms(%q) = %q, want %q", c.words, got, c.want)
		}
	}
}
