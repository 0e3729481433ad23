package ctmatch_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The packages that decide and represent what a rule means are pure (see
// docs/architecture.md): they reach no files, sockets, processes, clock, DNS
// or randomness. This test reads the imports of their non-test files and
// fails on any package that reaches the system, and on any package of the
// module they depend on, directly or not, that is not one of them; so that
// the CLI and kernel/ stay the only places where ctmatch touches the
// machine.
var purePackages = []string{"parse", "compile", "expr", "internal/nfnl"}

// netlinkBytes are the names of mdlayher/netlink a pure package may use:
// its attribute encoder and decoder, which work on bytes.
var netlinkBytes = map[string]bool{
	"AttributeEncoder": true, "NewAttributeEncoder": true, "AttributeDecoder": true, "NewAttributeDecoder": true,
	"Attribute": true, "MarshalAttributes": true, "UnmarshalAttributes": true, "Nested": true, "NetByteOrder": true,
}

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
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			netlinkName := ""
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if why, bad := impure[p]; bad {
					t.Errorf("%s imports %s, which reaches %s: pure packages take such things as arguments", path, p, why)
				}
				if p == "github.com/mdlayher/netlink" {
					netlinkName = "netlink"
					if imp.Name != nil {
						netlinkName = imp.Name.Name
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && netlinkName != "" && x.Name == netlinkName && !netlinkBytes[sel.Sel.Name] {
						t.Errorf("%s uses netlink.%s: pure packages use netlink's attribute encoding only", path, sel.Sel.Name)
					}
				}
				return true
			})
		}
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+dir).Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", dir, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rest, ok := strings.CutPrefix(dep, "github.com/ctmatch/ctmatch/")
			if ok && !slices.Contains(purePackages, rest) {
				t.Errorf("%s depends on %s, which is not a pure package", dir, dep)
			}
		}
	}
	if files < 10 {
		t.Errorf("read only %d files of the pure packages: has the layout changed?", files)
	}
}
