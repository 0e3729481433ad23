package main

import (
	"io"
	"slices"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/parse"
)

// This file is translate -o json: the commands translate prints, as one
// libnftables JSON document ({"nftables": […]}, what nft -j -f reads;
// ctmatch.JSONDoc). Comments have no place in it: the lines --keep-going
// leaves out are reported on standard error only, and a rule nft 1.0.6
// cannot parse (a ct port match without a protocol test) has no note.

// failedJSON ends a JSON document that is not whole: a command nft
// refuses, and with it the whole document.
var failedJSON = []byte(`{"ctmatch-translate-failed":"the commands above are not the whole ruleset, and nft refuses to load a document that holds this one"}`)

// untranslated writes the comment that stands for a line --keep-going
// leaves out, but in a JSON document.
func (fr *fileRun) untranslated(w io.Writer, src source) {
	if fr.o.output != "json" {
		untranslated(w, src)
	}
}

// table returns the nft table a rule of the words goes into.
func table(r *parse.Rule, o *translateOptions) string {
	if o.table != "" {
		return o.table
	}
	return r.TableName()
}

// writeJSONRule writes the nft rules of a rule of the words as commands,
// as translateRule prints them: add rule, or insert rule for -I (the
// pieces in reverse, so that they end up in order at the top).
func writeJSONRule(doc *ctmatch.JSONDoc, tr *ctmatch.Rule, table string, c *parse.Command) error {
	if c.Op != parse.Insert {
		return ctmatch.WriteJSONCommands(doc, tr, table, c.Chain, -1, -1)
	}
	rev := *tr
	rev.Rules = slices.Clone(tr.Rules)
	slices.Reverse(rev.Rules)
	for i := range rev.Rules {
		one := rev
		one.Rules = rev.Rules[i : i+1]
		if err := ctmatch.WriteJSONCommands(doc, &one, table, c.Chain, 0, -1); err != nil {
			return err
		}
	}
	return nil
}
