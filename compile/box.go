package compile

import (
	"sync"

	"github.com/ctmatch/ctmatch/expr"
)

// A match put into an expr.Match is copied to the heap (an expr.Ct is 64
// bytes): most compiled rules hold one or two ct state or ct status flag
// tests, whose few values are made into expr.Match once here and shared,
// which is safe since an interface's value cannot be changed through it.

// flagMasks bounds the masks of the flag tests shared: every combination of
// the state bits (up to untracked, 0x40) and of the status bits up to dnat
// (0x20).
const flagMasks = 0x80

// flagBoxes are the shared flag tests: [ct state, ct status][OpAny, OpNone][mask].
var flagBoxes = sync.OnceValue(func() *[2][2][flagMasks]expr.Match {
	var t [2][2][flagMasks]expr.Match
	for k, key := range [...]expr.CtKey{expr.CtState, expr.CtStatus} {
		for o, op := range [...]expr.Op{expr.OpAny, expr.OpNone} {
			for m := range uint32(flagMasks) {
				t[k][o][m] = expr.Ct{Key: key, Op: op, Mask: m}
			}
		}
	}
	return &t
})

// ctMatch returns c as an expr.Match, shared when it is a flag test of ct
// state or ct status.
func ctMatch(c expr.Ct) expr.Match {
	if c.Mask >= flagMasks || c != (expr.Ct{Key: c.Key, Op: c.Op, Mask: c.Mask}) {
		return c
	}
	k, o := 0, 0
	switch c.Key {
	case expr.CtState:
	case expr.CtStatus:
		k = 1
	default:
		return c
	}
	switch c.Op {
	case expr.OpAny:
	case expr.OpNone:
		o = 1
	default:
		return c
	}
	return flagBoxes()[k][o][c.Mask]
}
