package ctmatch_test

import (
	"fmt"
	"strings"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
)

func ExampleTranslate() {
	r, err := ctmatch.Translate("-A INPUT -m conntrack --ctstate NEW,DNAT -j ACCEPT", ctmatch.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(r)
	// Output:
	// ct state new counter accept
	// ct state ! new ct status dnat counter accept
}

func ExampleTranslateArgs() {
	r, err := ctmatch.TranslateArgs([]string{"-m", "conntrack", "--ctstate", "INVALID", "--ctproto", "udp"},
		ctmatch.Options{Table: expr.FamilyInet, NoCounter: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Iptables())
	fmt.Print(r)
	// Output:
	// -m conntrack --ctstate INVALID --ctproto 17
	// meta nfproto ipv4 ct state invalid
}

func ExampleTranslate_error() {
	_, err := ctmatch.Translate("-m conntrack --ctstate NEW,BOGUS", ctmatch.Options{})
	fmt.Printf("%+v\n", err)
	// Output:
	// col 28: unknown conntrack state "BOGUS"
	//   -m conntrack --ctstate NEW,BOGUS
	//                              ^^^^^
	// expected INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED, SNAT or DNAT
}

func ExampleRule_Bytecode() {
	r, _ := ctmatch.Translate("-m conntrack ! --ctstate NEW,RELATED", ctmatch.Options{NoCounter: true})
	lines, _ := r.Bytecode()
	for _, l := range lines[0] {
		fmt.Println(strings.TrimSpace(l))
	}
	// Output:
	// [ ct load state => reg 1 ]
	// [ bitwise reg 1 = ( reg 1 & 0x0000000c ) ^ 0x00000000 ]
	// [ cmp eq reg 1 0x00000000 ]
}
