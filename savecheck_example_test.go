package ctmatch_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/parse"
)

// A table whose user chain holds -m owner, which the kernel runs only in
// OUTPUT and POSTROUTING, reached from INPUT: SaveScript refuses it at
// COMMIT, with the line and word of the match and the jump that reaches
// its chain.
func ExampleSaveErrors() {
	file := `*filter
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:mine - [0:0]
-A mine -m owner --uid-owner 1000 -j ACCEPT
-A OUTPUT -j mine
-A INPUT -j mine
COMMIT
`
	s := ctmatch.NewSaveScript(ctmatch.Options{})
	for i, text := range strings.Split(strings.TrimSuffix(file, "\n"), "\n") {
		_, err := s.Line(io.Discard, text, parse.Position{File: "rules.v4", Line: i + 1})
		var table ctmatch.SaveErrors
		if errors.As(err, &table) {
			for _, e := range table {
				fmt.Println(e.Err.Kind == parse.Invalid, e.Err.Word)
				fmt.Println(e)
			}
		}
	}
	// Output:
	// true -m owner --uid-owner 1000
	// rules.v4:5:9: -m owner in chain mine, reached from INPUT by the jump at rules.v4:7: the kernel allows it only in OUTPUT, POSTROUTING and in user chains reached only from there, and refuses the table (iptables-restore: "Invalid argument")
}

// The same file in canonical iptables-save form, as iptables-save prints it
// after iptables-restore, with the jump from INPUT left out.
func ExampleSaveCanon() {
	file := `*filter
:INPUT DROP [3:4]
:mine - [0:0]
[9:9] -A mine -m owner --uid-owner 1000 -j ACCEPT
-A OUTPUT -j mine
-I OUTPUT 1 -p tcp --dport 22 -j ACCEPT
COMMIT
`
	s := ctmatch.NewSaveCanon(ctmatch.Options{})
	for i, text := range strings.Split(strings.TrimSuffix(file, "\n"), "\n") {
		if _, err := s.Line(text, parse.Position{File: "rules.v4", Line: i + 1}); err != nil {
			fmt.Println("error:", err)
		}
	}
	if _, err := s.End(); err != nil {
		fmt.Println("error:", err)
	}
	_, _ = s.WriteTo(os.Stdout)
	// Output:
	// *filter
	// :INPUT DROP [0:0]
	// :FORWARD ACCEPT [0:0]
	// :OUTPUT ACCEPT [0:0]
	// :mine - [0:0]
	// -A OUTPUT -p tcp -m tcp --dport 22 -j ACCEPT
	// -A OUTPUT -j mine
	// -A mine -m owner --uid-owner 1000 -j ACCEPT
	// COMMIT
}
