package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

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
// lines that hold "recent" are parsed. Standard input is kept in sp as it
// is read (in memory up to spoolMemory, in a temporary file beyond) and
// read again from there.
func readLists(cmd *cobra.Command, words *wordsFlags, files []fileInput, sp *spool) (map[string]parse.Position, error) {
	var read map[string]parse.Position
	for _, f := range files {
		popts := words.parseOptions(cmd.Context())
		popts.Family = parse.IPv4
		if f.v6 {
			popts.Family = parse.IPv6
		}
		r, name, done, err := openInput(cmd, f.name)
		if err != nil {
			return nil, err
		}
		defer done()
		if f.name == "-" {
			r = io.TeeReader(r, sp)
		}
		br := bufio.NewReaderSize(r, 64*1024)
		var buf []byte
		for n := 1; ; n++ {
			line, ended, _, err := readLine(br, buf[:0], maxLine)
			if err != nil {
				return nil, &exitError{code: exitUnsupported, err: fmt.Errorf("read %s: %w", name, err)}
			}
			buf = line
			if bytes.Contains(line, []byte("recent")) {
				rule, _ := parse.ParseText(string(line), popts)
				for _, list := range ctmatch.RecentReaders(rule) {
					if _, seen := read[list]; !seen {
						if read == nil {
							read = map[string]parse.Position{}
						}
						read[list] = parse.Position{File: name, Line: n}
					}
				}
			}
			if !ended {
				break
			}
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
