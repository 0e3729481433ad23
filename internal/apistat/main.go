// Command apistat measures the shape of the module's code: for every package,
// how many names it exports (top-level functions, types, constants and
// variables, methods of exported types, fields of exported structs), and the
// longest functions of the module. Test files are left out. It is how the
// layout of the packages is compared before and after a change:
//
//	go run ./internal/apistat            # from the module's root
//	go run ./internal/apistat -top 20    # the 20 longest functions
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// counts are the exported names of one package, by kind.
type counts struct {
	funcs, types, consts, vars, methods, fields int
}

func (c counts) total() int {
	return c.funcs + c.types + c.consts + c.vars + c.methods + c.fields
}

// function is one function or method and its length in lines.
type function struct {
	name  string
	pos   token.Position
	lines int
}

func main() {
	top := flag.Int("top", 10, "how many of the longest functions to list")
	flag.Parse()
	if err := run(".", *top); err != nil {
		fmt.Fprintln(os.Stderr, "apistat:", err)
		os.Exit(1)
	}
}

func run(root string, top int) error {
	fset := token.NewFileSet()
	pkgs := map[string]*counts{}
	var funcs []function
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		c := pkgs[dir]
		if c == nil {
			c = &counts{}
			pkgs[dir] = c
		}
		count(f, c)
		funcs = append(funcs, functions(fset, f)...)
		return nil
	})
	if err != nil {
		return err
	}
	printCounts(pkgs)
	printLongest(funcs, top)
	return nil
}

// count adds the exported names of one file to c.
func count(f *ast.File, c *counts) {
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				c.funcs++
			} else if ast.IsExported(receiverType(d.Recv.List[0].Type)) {
				c.methods++
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					c.types++
					if st, ok := s.Type.(*ast.StructType); ok {
						for _, field := range st.Fields.List {
							for _, name := range field.Names {
								if name.IsExported() {
									c.fields++
								}
							}
						}
					}
				case *ast.ValueSpec:
					for _, name := range s.Names {
						if !name.IsExported() {
							continue
						}
						if d.Tok == token.CONST {
							c.consts++
						} else {
							c.vars++
						}
					}
				}
			}
		}
	}
}

// receiverType is the name of a method's receiver type.
func receiverType(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

// functions lists the functions and methods of one file with their lengths.
func functions(fset *token.FileSet, f *ast.File) []function {
	var out []function
	for _, decl := range f.Decls {
		d, ok := decl.(*ast.FuncDecl)
		if !ok || d.Body == nil {
			continue
		}
		name := d.Name.Name
		if d.Recv != nil {
			name = receiverType(d.Recv.List[0].Type) + "." + name
		}
		start, end := fset.Position(d.Pos()), fset.Position(d.End())
		out = append(out, function{name: name, pos: start, lines: end.Line - start.Line + 1})
	}
	return out
}

func printCounts(pkgs map[string]*counts) {
	dirs := make([]string, 0, len(pkgs))
	for dir := range pkgs {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "package\tfuncs\ttypes\tconsts\tvars\tmethods\tfields\ttotal\t")
	var sum counts
	for _, dir := range dirs {
		c := pkgs[dir]
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", dir, c.funcs, c.types, c.consts, c.vars, c.methods, c.fields, c.total())
		sum.funcs += c.funcs
		sum.types += c.types
		sum.consts += c.consts
		sum.vars += c.vars
		sum.methods += c.methods
		sum.fields += c.fields
	}
	fmt.Fprintf(w, "all\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", sum.funcs, sum.types, sum.consts, sum.vars, sum.methods, sum.fields, sum.total())
	w.Flush()
}

func printLongest(funcs []function, top int) {
	sort.SliceStable(funcs, func(i, j int) bool { return funcs[i].lines > funcs[j].lines })
	if top > len(funcs) {
		top = len(funcs)
	}
	fmt.Printf("\nlongest functions:\n")
	for _, f := range funcs[:top] {
		fmt.Printf("%5d  %s (%s:%d)\n", f.lines, f.name, filepath.ToSlash(f.pos.Filename), f.pos.Line)
	}
}
