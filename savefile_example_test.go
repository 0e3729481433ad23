package ctmatch_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/parse"
)

func ExampleSaveScript() {
	file := `*filter
:INPUT DROP [0:0]
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
-I INPUT 1 -m conntrack --ctstate INVALID -j DROP
-I INPUT 2 -m conntrack --ctstate NEW,DNAT -j ACCEPT
COMMIT
`
	s := ctmatch.NewSaveScript(ctmatch.Options{NoCounter: true})
	for i, text := range strings.Split(strings.TrimSuffix(file, "\n"), "\n") {
		if _, err := s.Line(os.Stdout, text, parse.Position{File: "rules.v4", Line: i + 1}); err != nil {
			fmt.Println("error:", err)
		}
	}
	if _, err := s.End(); err != nil {
		fmt.Println("error:", err)
	}
	// Output:
	// add table ip filter
	// add chain ip filter INPUT { type filter hook input priority 0; policy drop; }
	// add rule ip filter INPUT ct state established accept
	// insert rule ip filter INPUT ct state invalid drop
	// add rule ip filter INPUT index 0 ct state new accept
	// add rule ip filter INPUT index 1 ct state ! new ct status dnat accept
}
