package expr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

func mark(op expr.Op, value, mask uint32) expr.Match {
	return expr.Mark{Op: op, Value: value, Mask: mask}
}

func ctmark(op expr.Op, value, mask uint32) expr.Match {
	return expr.Mark{Ct: true, Op: op, Value: value, Mask: mask}
}

func limit(rate, unit uint64, burst uint32) expr.Match {
	return expr.Limit{Rate: rate, Unit: unit, Burst: burst}
}

// The mark and limit cases join every wire test: Lower against nft's bytes,
// Raise of nft's bytes, of Lower's and of the kernel's dump.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"meta mark", rule(mark(expr.OpEq, 1, 0xffffffff))},
		wireCase{"meta mark neq", rule(mark(expr.OpNeq, 5, 0xffffffff))},
		wireCase{"meta mark masked", rule(mark(expr.OpEq, 0x40000, 0xff0000))},
		wireCase{"meta mark masked neq", rule(mark(expr.OpNeq, 0, 0xff0000))},
		wireCase{"meta mark zero mask", rule(mark(expr.OpEq, 0, 0))},
		wireCase{"meta mark outside mask", rule(mark(expr.OpEq, 3, 1))},
		wireCase{"ct mark", rule(ctmark(expr.OpEq, 1, 0xffffffff))},
		wireCase{"ct mark neq", rule(ctmark(expr.OpNeq, 0x12345678, 0xffffffff))},
		wireCase{"ct mark masked", rule(ctmark(expr.OpEq, 1, 0xff))},
		wireCase{"ct mark masked neq", rule(ctmark(expr.OpNeq, 5, 0xf))},
		wireCase{"inet ct mark", rule(nfIPv6, ctmark(expr.OpEq, 0x100, 0x100))},
		wireCase{"limit", rule(limit(3, 3600, 5))},
		wireCase{"limit burst", rule(limit(3, 60, 10))},
		wireCase{"limit second burst 1", rule(limit(10000, 1, 1))},
		wireCase{"limit day", rule(limit(1, 86400, 1))},
		wireCase{"limit week", rule(limit(2, 604800, 3))},
		wireCase{"limit after mark", rule(mark(expr.OpEq, 1, 1), limit(7, 60, 4))},
		wireCase{"ct state limit", rule(expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(expr.StateNew)}, limit(2, 1, 5))},
		wireCase{"inet limit", rule(nfIPv4, limit(1, 1, 2))},
	)
}

func TestMarkLimitText(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want string
	}{
		{rule(mark(expr.OpEq, 1, 0xffffffff)), "meta mark 0x00000001"},
		{rule(mark(expr.OpNeq, 5, 0xffffffff)), "meta mark != 0x00000005"},
		{rule(mark(expr.OpEq, 0x40000, 0xff0000)), "meta mark & 0x00ff0000 == 0x00040000"},
		{rule(mark(expr.OpNeq, 0, 0xff0000)), "meta mark & 0x00ff0000 != 0x00000000"},
		{rule(ctmark(expr.OpEq, 1, 0xff)), "ct mark & 0x000000ff == 0x00000001"},
		{rule(ctmark(expr.OpNeq, 0xffffffff, 0xffffffff)), "ct mark != 0xffffffff"},
		{rule(limit(3, 3600, 5)), "limit rate 3/hour"},
		{rule(limit(3, 60, 10)), "limit rate 3/minute burst 10 packets"},
		{rule(limit(2, 604800, 1)), "limit rate 2/week burst 1 packets"},
		{rule(limit(2, 7, 1)), "limit (invalid a limit per 7 seconds, which nft cannot write (second, minute, hour, day or week))"},
		{rule(limit(0, 1, 1)), "limit (invalid a limit rate of 0 (the kernel refuses it))"},
		{rule(limit(1, 1, 0)), "limit (invalid a limit burst of 0 (nft refuses it; the kernel takes it as 5))"},
		{rule(mark(expr.OpLt, 1, 1)), "meta mark (invalid operator 7)"},
	} {
		if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r.Matches, diff)
		}
	}
}

// The bytes, as nft 1.0.6 sends them (nft --debug=netlink): a masked mark
// is load, bitwise, cmp; a plain one load, cmp; a limit sends its burst
// even when the text has none.
func TestMarkLimitLowerLines(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want []string
	}{
		{rule(mark(expr.OpEq, 1, 0xff)), []string{
			"[ meta load mark => reg 1 ]",
			"[ bitwise reg 1 = ( reg 1 & 0x000000ff ) ^ 0x00000000 ]",
			"[ cmp eq reg 1 0x00000001 ]",
		}},
		{rule(ctmark(expr.OpNeq, 1, 0xffffffff)), []string{
			"[ ct load mark => reg 1 ]",
			"[ cmp neq reg 1 0x00000001 ]",
		}},
		{rule(limit(3, 3600, 5)), []string{
			"[ limit rate 3/hour burst 5 type packets flags 0x0 ]",
		}},
	} {
		b, err := tc.r.Lower(expr.FamilyIP)
		if err != nil {
			t.Fatal(err)
		}
		got, err := expr.DebugLines(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r, diff)
		}
	}
}

// What ctmatch does not write is not read: an inverted limit, a byte
// limit, a mark compared by order.
func TestMarkLimitRaiseRefuses(t *testing.T) {
	good, err := rule(limit(3, 60, 5)).Lower(expr.FamilyIP)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to, why string
	}{
		{"inverted", "\x08\x00\x05\x00\x00\x00\x00\x00", "\x08\x00\x05\x00\x00\x00\x00\x01", "an inverted limit"},
		{"bytes", "\x08\x00\x04\x00\x00\x00\x00\x00", "\x08\x00\x04\x00\x00\x00\x00\x01", "a limit of bytes"},
	} {
		bad := []byte(strings.Replace(string(good), tc.from, tc.to, 1))
		if string(bad) == string(good) {
			t.Fatalf("%s: attribute not found in %x", tc.name, good)
		}
		if _, err := expr.Raise(expr.FamilyIP, bad); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: Raise error = %v, want %q", tc.name, err, tc.why)
		}
	}
}
