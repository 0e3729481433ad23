package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The packages that decide and represent what a rule means are pure (see
// docs/architecture.md): they reach no files, sockets, processes, clock, DNS
// or randomness. This test reads the imports of their non-test files and
// fails on any package that reaches the system, so that the CLI and kernel/
// stay the only places where ctmatch touches the machine.
var purePackages = []string{"../../parse", "../../compile", "../../expr"}

// impure are the imports a pure package must not have.
var impure = map[string]string{
	"os":                                "files and the environment",
	"os/exec":                           "processes",
	"os/signal":                         "signals",
	"os/user":                           "the user database",
	"io/ioutil":                         "files",
	"net":                               "sockets and DNS (net/netip is fine)",
	"net/http":                          "the network",
	"syscall":                           "system calls",
	"time":                              "the clock",
	"math/rand":                         "randomness",
	"math/rand/v2":                      "randomness",
	"crypto/rand":                       "randomness",
	"golang.org/x/sys/unix":             "system calls",
	"github.com/mdlayher/socket":        "sockets",
	"github.com/google/nftables":        "netlink connections (import its expr package as nftexpr only)",
	"github.com/ctmatch/ctmatch/kernel": "the kernel",
}

func TestPurePackages(t *testing.T) {
	files := 0
	for _, dir := range purePackages {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			files++
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if why, bad := impure[p]; bad {
					t.Errorf("%s imports %s, which reaches %s: pure packages take such things as arguments", path, p, why)
				}
			}
			// mdlayher/netlink is allowed for its attribute encoder and
			// decoder, which work on bytes; never for a connection.
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "netlink.Dial") {
				t.Errorf("%s opens a netlink connection", path)
			}
		}
	}
	if files < 10 {
		t.Errorf("read only %d files of the pure packages: has the layout changed?", files)
	}
}
