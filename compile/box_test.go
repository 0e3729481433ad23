package compile

import (
	"net/netip"
	"testing"

	"github.com/ctmatch/ctmatch/expr"
)

// TestCtMatch checks that a shared flag test is the test asked for, for
// every key, operator and mask, and that what is not a flag test is not
// shared.
func TestCtMatch(t *testing.T) {
	for _, key := range []expr.CtKey{expr.CtState, expr.CtStatus, expr.CtDirection, expr.CtExpiration} {
		for _, op := range []expr.Op{expr.OpAny, expr.OpNone, expr.OpEq, expr.OpRange} {
			for m := range uint32(2 * flagMasks) {
				c := expr.Ct{Key: key, Op: op, Mask: m}
				if got := ctMatch(c); got != expr.Match(c) {
					t.Fatalf("ctMatch(%+v) = %+v", c, got)
				}
			}
		}
	}
	c := expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: 8, Lo: 1}
	if got := ctMatch(c); got != expr.Match(c) {
		t.Errorf("ctMatch(%+v) = %+v", c, got)
	}
	a := expr.Ct{Key: expr.CtSrcIP, Op: expr.OpEq, Addr: netip.MustParseAddr("10.0.0.1"), AddrMask: netip.MustParseAddr("255.255.255.255")}
	if got := ctMatch(a); got != expr.Match(a) {
		t.Errorf("ctMatch(%+v) = %+v", a, got)
	}
}

// BenchmarkCtMatch times putting a ct state test into an expr.Match.
func BenchmarkCtMatch(b *testing.B) {
	b.ReportAllocs()
	var m expr.Match
	for i := 0; b.Loop(); i++ {
		m = ctMatch(expr.Ct{Key: expr.CtState, Op: expr.OpAny, Mask: uint32(i) & 0x4f})
	}
	_ = m
}
