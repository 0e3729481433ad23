package ctmatch_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// publicPackages are the packages whose every exported name must be
// documented: the public API (the module root, firewall, its in-memory
// kernel firewall/fakekernel, nftexport) and kernel, the layer firewall is
// built on, which is importable too.
var publicPackages = []string{".", "firewall", "firewall/fakekernel", "nftexport", "kernel"}

// Every exported name of the public packages has a doc comment: top-level
// functions, types, constants and variables (a name in a group whose
// declaration has a comment counts as documented by it, as go doc shows
// it), methods of exported types, and fields of exported structs (a doc
// comment or a line comment). The test lists each name that has none.
func TestExportedNamesDocumented(t *testing.T) {
	var missing []string
	names := 0
	for _, dir := range publicPackages {
		fset := token.NewFileSet()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			path := filepath.Join(dir, name)
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			report := func(pos token.Pos, what string) {
				missing = append(missing, filepath.ToSlash(path)+":"+strconv.Itoa(fset.Position(pos).Line)+": "+what)
			}
			for _, decl := range f.Decls {
				names += undocumented(fset, decl, report)
			}
		}
	}
	for _, m := range missing {
		t.Errorf("undocumented: %s", m)
	}
	t.Logf("%d exported names in %v, %d undocumented", names, publicPackages, len(missing))
}

// undocumented reports each exported name decl declares without a doc
// comment, and returns how many exported names it declares.
func undocumented(fset *token.FileSet, decl ast.Decl, report func(token.Pos, string)) int {
	n := 0
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return 0
		}
		name := d.Name.Name
		if d.Recv != nil {
			recv := receiverName(d.Recv.List[0].Type)
			if !ast.IsExported(recv) {
				return 0
			}
			name = recv + "." + name
		}
		n++
		if d.Doc == nil {
			report(d.Pos(), "func "+name)
		}
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if !s.Name.IsExported() {
					continue
				}
				n++
				if s.Doc == nil && d.Doc == nil {
					report(s.Pos(), "type "+s.Name.Name)
				}
				n += undocumentedFields(fset, s, report)
			case *ast.ValueSpec:
				for _, name := range s.Names {
					if !name.IsExported() {
						continue
					}
					n++
					if s.Doc == nil && s.Comment == nil && d.Doc == nil {
						report(name.Pos(), d.Tok.String()+" "+name.Name)
					}
				}
			}
		}
	}
	return n
}

// undocumentedFields reports the exported fields of struct type s (and the
// methods of interface type s) without a comment. A field without one of
// its own is documented by the comment above a run of fields it belongs to
// (fields on consecutive lines, as "// Handles are …, in the chain's
// order." above Handles, Rule and IPv6): go doc shows the struct's source.
func undocumentedFields(fset *token.FileSet, s *ast.TypeSpec, report func(token.Pos, string)) int {
	var fields *ast.FieldList
	switch t := s.Type.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		return 0
	}
	n := 0
	runDoc, lastLine := false, -1
	for _, f := range fields.List {
		line := fset.Position(f.Pos()).Line
		if f.Doc != nil {
			line = fset.Position(f.Doc.Pos()).Line
		}
		documented := f.Doc != nil || f.Comment != nil || runDoc && line == lastLine+1
		runDoc = documented && f.Comment == nil || documented && f.Doc != nil
		lastLine = fset.Position(f.End()).Line
		for _, name := range f.Names {
			if !name.IsExported() {
				continue
			}
			n++
			if !documented {
				report(name.Pos(), "field "+s.Name.Name+"."+name.Name)
			}
		}
	}
	return n
}

func receiverName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiverName(t.X)
	case *ast.IndexExpr:
		return receiverName(t.X)
	case *ast.IndexListExpr:
		return receiverName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return ""
}

// kernelCalls are the calls by which an example reaches the kernel.
var kernelCalls = []string{"firewall.Dial(", "kernel.Dial(", "nftables.New("}

// An example that reaches the kernel (Dial, nftables.New) is compiled and
// never run (it has no "// Output:" comment, so go test only builds it),
// and it works in a network namespace of its own (a NetNS option, or
// google/nftables' WithNetNSFd), never in the caller's: a reader who runs
// it as written does not change the host's ruleset.
func TestKernelExamplesInANamespace(t *testing.T) {
	found := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Example") {
				continue
			}
			body := string(src[fset.Position(fn.Body.Pos()).Offset:fset.Position(fn.Body.End()).Offset])
			if !slices.ContainsFunc(kernelCalls, func(c string) bool { return strings.Contains(body, c) }) {
				continue
			}
			found++
			where := path + ": " + fn.Name.Name
			if strings.Contains(body, "// Output:") || strings.Contains(body, "// Unordered output:") {
				t.Errorf("%s reaches the kernel and has an Output comment: go test would run it in the caller's namespace", where)
			}
			if !strings.Contains(body, `NetNS: "/`) && !strings.Contains(body, "WithNetNSFd(") {
				t.Errorf("%s reaches the kernel without a namespace of its own (a NetNS option or WithNetNSFd)", where)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 3 {
		t.Errorf("found %d examples that reach the kernel, want at least firewall's, kernel's and nftexport's", found)
	}
}
