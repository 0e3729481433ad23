package ctmatch_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
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
// module they depend on, directly or not, that is not one of them; and it
// walks the whole import graph below each of them, so that socket code
// cannot come in through another package either. So firewall/, kernel/,
// nftexport/ and the CLI stay the only places where ctmatch touches the
// machine, and a program that only translates links none of them.
//
// "." is the module root: the translation API (Translate, Compile, Rule).
var purePackages = []string{".", "parse", "compile", "expr", "script", "internal/nfnl"}

const module = "github.com/ctmatch/ctmatch"

// importPath returns the import path of a directory of the module.
func importPath(dir string) string {
	if dir == "." {
		return module
	}
	return module + "/" + dir
}

// impure are the imports a pure package must not have.
var impure = map[string]string{
	"os":                                   "files and the environment",
	"os/exec":                              "processes",
	"os/signal":                            "signals",
	"os/user":                              "the user database",
	"io/ioutil":                            "files",
	"net":                                  "sockets and DNS (net/netip is fine)",
	"net/http":                             "the network",
	"syscall":                              "system calls",
	"time":                                 "the clock",
	"math/rand":                            "randomness",
	"math/rand/v2":                         "randomness",
	"crypto/rand":                          "randomness",
	"golang.org/x/sys/unix":                "system calls",
	"github.com/mdlayher/socket":           "sockets",
	"github.com/mdlayher/netlink":          "netlink sockets (internal/nfnl encodes and decodes netlink's bytes)",
	"github.com/google/nftables":           "netlink connections (import its expr package as nftexpr only)",
	"github.com/ctmatch/ctmatch/kernel":    "the kernel",
	"github.com/ctmatch/ctmatch/firewall":  "the kernel, through its client",
	"github.com/ctmatch/ctmatch/nftexport": "google/nftables and its netlink connection",
}

// socketCode are the packages that open or drive sockets: a pure package
// must not reach any of them, directly or through any package it imports.
// (Packages such as os or time cannot be refused this way: fmt imports os.
// The direct imports above refuse them.)
var socketCode = map[string]string{
	"net":                                  "sockets and DNS",
	"golang.org/x/sys/unix":                "system calls",
	"github.com/mdlayher/socket":           "sockets",
	"github.com/mdlayher/netlink":          "netlink sockets",
	"github.com/google/nftables":           "netlink connections",
	"github.com/ctmatch/ctmatch/kernel":    "the kernel",
	"github.com/ctmatch/ctmatch/firewall":  "the kernel, through its client",
	"github.com/ctmatch/ctmatch/nftexport": "google/nftables",
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
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if why, bad := impure[p]; bad {
					t.Errorf("%s imports %s, which reaches %s: pure packages take such things as arguments", path, p, why)
				}
			}
		}
	}
	if files < 10 {
		t.Errorf("read only %d files of the pure packages: has the layout changed?", files)
	}
	graph := importGraph(t)
	pure := map[string]bool{}
	for _, dir := range purePackages {
		pure[importPath(dir)] = true
	}
	for _, dir := range purePackages {
		for _, chain := range reachable(graph, importPath(dir)) {
			dep := chain[len(chain)-1]
			if why, bad := socketCode[dep]; bad {
				t.Errorf("%s reaches %s (%s) through %s: pure packages link no socket code", dir, dep, why, strings.Join(chain, " → "))
			}
			if rest, ok := strings.CutPrefix(dep, module+"/"); ok && !pure[dep] {
				t.Errorf("%s depends on %s, which is not a pure package (through %s)", dir, rest, strings.Join(chain, " → "))
			}
		}
	}
}

// TestPurityCatchesSocketCode shows that the walk of the import graph finds
// socket code however deep it is: through the module's packages and
// through a package of the standard library.
func TestPurityCatchesSocketCode(t *testing.T) {
	graph := map[string][]string{
		module:                    {module + "/expr", "fmt"},
		module + "/expr":          {module + "/internal/nfnl", "encoding/binary"},
		module + "/internal/nfnl": {"encoding/binary", "net/http"},
		"net/http":                {"net"},
		"fmt":                     {"os"},
		"os":                      {"syscall"},
	}
	found := false
	for _, chain := range reachable(graph, module) {
		if _, bad := socketCode[chain[len(chain)-1]]; bad {
			found = slices.Equal(chain, []string{module, module + "/expr", module + "/internal/nfnl", "net/http", "net"})
		}
	}
	if !found {
		t.Errorf("net, imported by net/http, imported by internal/nfnl, imported by expr, was not found")
	}
}

// importGraph returns the imports of every package the pure packages
// depend on, as go list -deps sees them.
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	args := []string{"list", "-deps", "-json=ImportPath,Imports"}
	for _, dir := range purePackages {
		args = append(args, "./"+dir)
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		graph[p.ImportPath] = p.Imports
	}
	for _, dir := range purePackages {
		if _, ok := graph[importPath(dir)]; !ok {
			t.Fatalf("go list -deps did not list %s", importPath(dir))
		}
	}
	return graph
}

// reachable returns, for every package from reaches, the chain of imports
// that first reaches it (from, …, it).
func reachable(graph map[string][]string, from string) [][]string {
	seen := map[string]bool{from: true}
	var out [][]string
	queue := [][]string{{from}}
	for len(queue) > 0 {
		chain := queue[0]
		queue = queue[1:]
		at := chain[len(chain)-1]
		for _, imp := range graph[at] {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			next := append(slices.Clip(chain), imp)
			out = append(out, next)
			queue = append(queue, next)
		}
	}
	return out
}
