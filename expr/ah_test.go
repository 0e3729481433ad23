package expr_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctmatch/ctmatch/expr"
)

var ahProto = expr.L4Proto{Op: expr.OpEq, Proto: expr.ProtoAH}

func ahSPI(op expr.Op, lo, hi uint32) expr.Match {
	return expr.Payload{Field: expr.FieldAHSPI, Op: op, Lo: lo, Hi: hi}
}

// The AH fields join every wire test: Lower against nft's bytes, Raise of
// nft's bytes and of Lower's.
func init() {
	moreWireCases = append(moreWireCases,
		wireCase{"ah spi", rule(ahProto, ahSPI(expr.OpEq, 5, 0))},
		wireCase{"ah spi not range", rule(fragFirst, ahProto, ahSPI(expr.OpNotRange, 5, 9))},
		wireCase{"ah spi every", rule(ahProto, ahSPI(expr.OpRange, 0, 0xffffffff))},
		wireCase{"ah spi hdrlength reserved", rule(ahProto, ahSPI(expr.OpEq, 7, 0),
			expr.Payload{Field: expr.FieldICMPCode, Op: expr.OpEq, Lo: 4},
			expr.Payload{Field: expr.FieldTHDport, Op: expr.OpEq, Lo: 0})},
		wireCase{"ah hdrlength neq", rule(ahProto, ahSPI(expr.OpRange, 0, 0xffffffff), expr.Payload{Field: expr.FieldICMPCode, Op: expr.OpNeq, Lo: 4})},
		wireCase{"inet ah spi", rule(nfIPv6, ahProto, ahSPI(expr.OpRange, 256, 511))},
	)
}

func TestAHText(t *testing.T) {
	for _, tc := range []struct {
		r    expr.Rule
		want string
	}{
		{rule(ahProto, ahSPI(expr.OpEq, 5, 0)), "ah spi 5"},
		{rule(fragFirst, ahProto, ahSPI(expr.OpNotRange, 5, 9)), "ip frag-off & 0x1fff == 0 ah spi != 5-9"},
		{rule(ahProto, ahSPI(expr.OpEq, 7, 0), expr.Payload{Field: expr.FieldICMPCode, Op: expr.OpNeq, Lo: 4}, expr.Payload{Field: expr.FieldTHDport, Op: expr.OpEq, Lo: 0}),
			"ah spi 7 ah hdrlength != 4 ah reserved 0"},
		{rule(ahSPI(expr.OpEq, 5, 0)), "@th,32,32 5"},
	} {
		if diff := cmp.Diff(tc.want, tc.r.String()); diff != "" {
			t.Errorf("%v: (-want +got):\n%s", tc.r.Matches, diff)
		}
	}
}
