package script_test

import (
	"errors"
	"fmt"

	"github.com/ctmatch/ctmatch/parse"
	"github.com/ctmatch/ctmatch/script"
)

func ExampleReadLine() {
	at := parse.Position{File: "rules.ctmatch", Line: 3}
	l, err := script.ReadLine("insert rule inet fw input --index 2 -6 -- -m conntrack --ctstate new,dnat -j ACCEPT", at, parse.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Op, l.Family, l.Table, l.Chain, l.Index, l.IPv6)
	fmt.Println(l.Rule)
	fmt.Println(l.Position(l.ChainPos), l.Position(l.RulePos))
	fmt.Println(l)
	// Output:
	// insert inet fw input 2 true
	// -m conntrack --ctstate NEW,DNAT -j ACCEPT
	// rules.ctmatch:3:21 rules.ctmatch:3:43
	// insert rule inet fw input --index 2 -6 -- -m conntrack --ctstate NEW,DNAT -j ACCEPT
}

func ExampleReadLine_error() {
	at := parse.Position{File: "rules.ctmatch", Line: 4}
	for _, text := range []string{
		"add rule inet fw input --index 0 -- -m conntrack --ctstate NEW",
		"add rule inet fw input -- -m conntrack --ctstate NEW,BOGUS",
	} {
		_, err := script.ReadLine(text, at, parse.Options{})
		var e *parse.Error
		if errors.As(err, &e) {
			fmt.Printf("%s: %s\n%s\n", at.At(e.Pos), e.Msg, e.Caret())
		}
	}
	// Output:
	// rules.ctmatch:4:32: bad --index "0": expected a group number, from 1
	//   add rule inet fw input --index 0 -- -m conntrack --ctstate NEW
	//                                  ^
	// rules.ctmatch:4:54: unknown conntrack state "BOGUS"
	//   add rule inet fw input -- -m conntrack --ctstate NEW,BOGUS
	//                                                        ^^^^^
}

func ExampleLine_String() {
	for _, text := range []string{
		"add   rule ip6 t c  --no-counter --index=010 -6 --  -m state --state new",
		"  # a comment stays as it is",
	} {
		l, err := script.ReadLine(text, parse.Position{}, parse.Options{})
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%q\n", l)
	}
	// Output:
	// "add rule ip6 t c --index 10 --no-counter -- -m state --state NEW"
	// "  # a comment stays as it is"
}
