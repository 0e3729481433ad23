package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/parse"
	"github.com/spf13/cobra"
)

// readLists reads the files of translate -f or apply -f once before they
// are translated, for the recent lists a rule of theirs reads (-m recent
// --rcheck, --update, --remove, ! --set), each with the line of the first
// such rule: ctmatch.Options.ReadLists, so that a --set of one of those
// lists is refused with its reader, even when the reader comes after it.
// (Lists are one per name for both families, so both files count.) Only
// lines that hold "recent" are parsed; a line eachFileLine cannot give is
// left to the reading after. Standard input is kept in sp as it is read (in
// memory up to spoolMemory, in a temporary file beyond) and read again
// from there.
func readLists(cmd *cobra.Command, words *wordsFlags, files []fileInput, sp *spool) (map[string]parse.Position, error) {
	var read map[string]parse.Position
	for _, f := range files {
		popts := words.parseOptions(cmd.Context())
		popts.Family = parse.IPv4
		if f.v6 {
			popts.Family = parse.IPv6
		}
		if f.name == "-" {
			cmd.SetIn(io.TeeReader(cmd.InOrStdin(), sp))
		}
		err := eachFileLine(cmd, f.name, func(src source) bool {
			if !strings.Contains(src.text, "recent") {
				return true
			}
			rule, _ := parse.ParseText(src.text, popts)
			for _, list := range ctmatch.RecentReaders(rule) {
				if _, seen := read[list]; !seen {
					if read == nil {
						read = map[string]parse.Position{}
					}
					read[list] = src.pos
				}
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if f.name == "-" {
			in, err := sp.Reader()
			if err != nil {
				return nil, &exitError{code: exitUnsupported, err: fmt.Errorf("read <stdin> again: %w", err)}
			}
			cmd.SetIn(in)
		}
	}
	return read, nil
}
