package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/expr"
)

// This file is translate -f FILE [--file6 FILE] --family inet of
// iptables-save files: both files are read whole (ctmatch.SaveRuleset),
// then merged into one inet table per iptables table (ctmatch.MergeInet)
// and written as one nft script. Nothing is printed before both files are
// read, so a script is always whole.

// inetRun is what translate keeps of the files it merges.
type inetRun struct {
	files        [2]*ctmatch.SaveRuleset // the iptables file, the ip6tables file
	untranslated bytes.Buffer            // the "# untranslated:" lines of --keep-going
	noCounter    bool
}

// mergesInet reports whether translate merges iptables-save files into
// inet tables.
func (fr *fileRun) mergesInet() bool { return fr.o.family == "inet" }

func (fr *fileRun) inetFile(f fileInput, o ctmatch.Options) *saveFile {
	if fr.inet == nil {
		fr.inet = &inetRun{noCounter: o.NoCounter}
	}
	o.Table = expr.FamilyInet
	rs := ctmatch.NewSaveRuleset(o)
	if f.v6 {
		fr.inet.files[1] = rs
	} else {
		fr.inet.files[0] = rs
	}
	return &saveFile{fr: fr, rs: rs}
}

func (sf *saveFile) inetLine(src source) {
	l, err := sf.rs.Line(src.text, src.pos)
	if l != nil {
		for _, w := range l.Warnings {
			sf.fr.o.sayLineWarning(sf.fr.rep, src, w)
		}
	}
	if err != nil && sf.fr.fail(src, err) {
		sf.fr.untranslated(&sf.fr.inet.untranslated, src)
	}
}

// write merges the files and writes the script: a comment with the number
// of rules in and out, the lines --keep-going left out, then the tables.
func (in *inetRun) write(w io.Writer, doc *ctmatch.JSONDoc) error {
	var rs [2]ctmatch.Ruleset
	for i, f := range in.files {
		if f != nil {
			rs[i] = f.Ruleset()
		}
	}
	m, err := ctmatch.MergeInet(rs[0], rs[1], ctmatch.Options{NoCounter: in.noCounter})
	if err != nil {
		return systemError(err)
	}
	if doc != nil {
		if err := m.WriteJSON(doc, expr.FamilyInet); err != nil {
			return &exitError{code: exitUnsupported, err: err}
		}
		return nil
	}
	n4, _ := countRules(rs[0])
	n6, _ := countRules(rs[1])
	out, both := countRules(m)
	fmt.Fprintf(w, "# inet merge: %d iptables and %d ip6tables nft rules in, %d nft rules out (%d for both families)\n", n4, n6, out, both)
	_, _ = w.Write(in.untranslated.Bytes())
	var b bytes.Buffer
	if err := m.WriteScript(&b, expr.FamilyInet); err != nil {
		return &exitError{code: exitUnsupported, err: err}
	}
	_, err = w.Write(b.Bytes())
	return err
}

// countRules returns the number of nft rules of rs, and of those for both
// families.
func countRules(rs ctmatch.Ruleset) (n, both int) {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				n += len(r.Rules)
				if r.Both {
					both += len(r.Rules)
				}
			}
		}
	}
	return n, both
}
