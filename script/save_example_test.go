package script_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

func ExampleSaveReader() {
	file := `*filter
:INPUT DROP [0:0]
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
-I INPUT 1 -m conntrack --ctstate INVALID -j DROP
-I INPUT 2 -s 10.0.0.0/8 -j ACCEPT
COMMIT
`
	r := script.NewSaveReader(parse.Options{Family: parse.IPv4})
	for i, text := range strings.Split(strings.TrimSuffix(file, "\n"), "\n") {
		l, err := r.Line(text, parse.Position{File: "rules.v4", Line: i + 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		switch l.Op {
		case script.SaveTable:
			fmt.Println("table", l.Table)
		case script.SaveChain:
			fmt.Println("chain", l.Chain, l.Builtin, l.Policy)
		case script.SaveRule:
			fmt.Printf("rule %s, at %d: %s\n", l.Chain, l.Index+1, l.Rule)
		case script.SaveCommit:
			fmt.Println("commit", l.Table)
		}
	}
	if _, err := r.End(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// table filter
	// chain INPUT true DROP
	// rule INPUT, at 1: -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
	// rule INPUT, at 1: -I INPUT 1 -m conntrack --ctstate INVALID -j DROP
	// rule INPUT, at 2: -I INPUT 2 -s 10.0.0.0/8 -j ACCEPT
	// commit filter
}

func ExampleSaveReader_End() {
	r := script.NewSaveReader(parse.Options{})
	for i, text := range []string{"*nat", ":POSTROUTING ACCEPT [0:0]"} {
		if _, err := r.Line(text, parse.Position{File: "rules.v4", Line: i + 1}); err != nil {
			fmt.Println(err)
		}
	}
	if l, err := r.End(); err != nil {
		var pe *parse.Error
		errors.As(err, &pe)
		fmt.Printf("%s: %s\n", l.Position(pe.Pos), pe.Msg)
	}
	// Output:
	// rules.v4:1:1: table nat has no COMMIT: iptables-restore refuses the whole file
}
