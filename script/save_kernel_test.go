package script_test

import (
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
)

// TestSaveOracle loads every case file with the real iptables-restore (or
// ip6tables-restore), each in a network namespace of its own: the files
// ctmatch reads whole or refuses as unsupported must load, the files it
// refuses as invalid must be refused. (iptables-restore --test is not the
// oracle: iptables-nft 1.8.9's --test accepts files that the real restore
// refuses, such as a rule in an undeclared chain or -I beyond the chain's
// end.)
func TestSaveOracle(t *testing.T) {
	for _, c := range saveCases {
		t.Run(c.name, func(t *testing.T) {
			tool := "iptables-restore"
			if c.v6 {
				tool = "ip6tables-restore"
			}
			ns := ktest.Namespace(t, tool)
			text, _, _ := c.file()
			if text == "" {
				text = "\n" // Exec sends no standard input for ""
			}
			_, stderr, err := ktest.Exec(ns, text, tool)
			switch {
			case c.kind == "invalid" && err == nil:
				t.Errorf("%s accepted a file ctmatch refuses as invalid:\n%s", tool, text)
			case c.kind != "invalid" && err != nil:
				t.Errorf("%s refused a file ctmatch takes (%s): %v\n%s\n%s", tool, c.kind, err, strings.TrimSpace(stderr), text)
			}
		})
	}
}
