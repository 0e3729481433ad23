package firewall_test

import (
	"os"
	"strings"
	"testing"
)

// docs/api.md shows the manager's program and what it prints: the program
// must be manage as manager_example_test.go has it, and the output what
// TestKernelManager expects, so that neither rots.
func TestAPIDocManager(t *testing.T) {
	doc := read(t, "../docs/api.md")
	src := read(t, "manager_example_test.go")
	test := read(t, "manager_kernel_test.go")
	prog := block(t, doc, "```go\n")
	if !strings.HasPrefix(prog, "// manage is") || !strings.HasSuffix(src, prog) {
		t.Errorf("docs/api.md's program is not manage as manager_example_test.go has it (from its comment to the end of the file)")
	}
	out := block(t, doc, "What it prints:\n\n```\n")
	if !strings.Contains(test, "want := `"+out+"`") {
		t.Errorf("docs/api.md's output is not what TestKernelManager expects:\n%s", out)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// block returns the text of the fenced block that start opens.
func block(t *testing.T, doc, start string) string {
	t.Helper()
	i := strings.Index(doc, start)
	if i < 0 {
		t.Fatalf("docs/api.md has no %q", start)
	}
	rest := doc[i+len(start):]
	j := strings.Index(rest, "```\n")
	if j < 0 {
		t.Fatalf("docs/api.md: the block after %q does not end", start)
	}
	return rest[:j]
}
