package firewall

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ctmatch/ctmatch/kernel"
)

// hintOf is Hint, for the tests' messages.
func hintOf(err error) string { return Hint(err) }

// Hint finds the advice in every error a Client returns, whichever of the
// two error types carries it and however it is wrapped.
func TestHint(t *testing.T) {
	ke := &kernel.Error{Op: "add rule", Reason: "no such table inet fw", Hint: "create it, or use --create"}
	fe := &Error{Op: "add rule", Err: ke}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("plain"), ""},
		{ke, "create it, or use --create"},
		{fe, "create it, or use --create"},
		{&Error{Op: "add rule", Err: ke, Hint: "first"}, "first"},
		{fmt.Errorf("apply: %w", fe), "create it, or use --create"},
		{errors.Join(errors.New("x"), fe), "create it, or use --create"},
		{&Error{Op: "list", Err: ErrNoChain}, ""},
	} {
		if got := Hint(tc.err); got != tc.want {
			t.Errorf("Hint(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
