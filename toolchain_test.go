package ctmatch_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// maxGo is the newest Go release the module may require: users' toolchains
// lag behind, and the libraries ctmatch sits next to (knftables,
// mdlayher/netlink) ask for no more.
const maxGo = "1.25"

// The module and every module it builds with ask for Go maxGo at most
// (their go lines): a dependency upgraded to one that needs a newer Go
// fails here, not in a user's build. (go vet's stdversion check keeps
// ctmatch's own code to the standard library of its go line.)
func TestGoVersion(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok && newerGo(v, maxGo) {
			t.Errorf("go.mod: go %s, newer than %s", v, maxGo)
		}
		if strings.HasPrefix(line, "toolchain ") {
			t.Errorf("go.mod: %s: a toolchain line makes older toolchains download a newer one", line)
		}
	}
	out, err := exec.Command("go", "list", "-m", "-json", "all").Output()
	if err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var m struct{ Path, Version, GoVersion string }
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		if newerGo(m.GoVersion, maxGo) {
			t.Errorf("%s %s needs go %s, newer than %s", m.Path, m.Version, m.GoVersion, maxGo)
		}
	}
	if n < 2 {
		t.Errorf("go list -m all listed %d modules", n)
	}
}

// newerGo reports whether Go version v (1.N or 1.N.P) is newer than the
// release max (1.M): 1.M.P is not.
func newerGo(v, max string) bool {
	minor := func(s string) int {
		parts := strings.Split(s, ".")
		if len(parts) < 2 {
			return 0
		}
		n, _ := strconv.Atoi(parts[1])
		return n
	}
	return minor(v) > minor(max)
}
