package main

import (
	"bytes"
	"errors"

	"github.com/ctmatch/ctmatch"
)

// This file is translate -o iptables of an iptables-save file: the file in
// the canonical form iptables-save prints (ctmatch.SaveCanon), written
// whole at the file's end.

// canonLine reads a line of an iptables-save file for -o iptables.
func (sf *saveFile) canonLine(src source) {
	l, err := sf.c.Line(src.text, src.pos)
	if l != nil {
		for _, w := range l.Warnings {
			sf.fr.rep.warnLine(src, w)
		}
	}
	var table ctmatch.SaveErrors
	if errors.As(err, &table) {
		for _, e := range table {
			sf.fr.rep.report(source{pos: e.At, text: e.Err.Text}, e.Err)
		}
		sf.fr.refused, sf.fr.failed = true, true
		return
	}
	if err != nil && sf.fr.fail(src, err) {
		var b bytes.Buffer
		untranslated(&b, src)
		sf.c.Untranslated(l, b.String())
	}
}
