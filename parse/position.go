package parse

import "strconv"

// Position is where something was written, as a person reads it: a file, a
// line of it and a column of that line, as go/token's Position. Pos is an
// offset into one rule's text; a Position places that text too.
//
// The rules of the command line have no file and no line: a Position of
// theirs is a column alone. The zero Position is nowhere.
type Position struct {
	File string // the file's name ("<stdin>" for standard input), or "" for the command line
	Line int    // the line, from 1; 0 for the command line
	Col  int    // the column, from 1: a byte offset into the line plus 1 (Pos+1); 0 for the whole line
}

// IsValid reports whether p says where something is: a line, or a column.
func (p Position) IsValid() bool { return p.Line > 0 || p.Col > 0 }

// String returns the position as errors begin with it:
//
//	file:line:col   a column of a line of a file
//	file:line       a line of a file (Col is 0)
//	line:col, line  the same without a file
//	col N           a column of the command line (no line)
//	-               nowhere (the zero Position)
//
// A file with no line or column is the file's name alone.
func (p Position) String() string {
	s := p.File
	switch {
	case p.Line > 0:
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	case p.Col > 0:
		if s != "" {
			s += ":"
		}
		s += "col " + strconv.Itoa(p.Col)
	}
	if s == "" {
		s = "-"
	}
	return s
}

// At returns the position of the byte at offset pos of the text p is the
// start of (a line of a file, or a rule of the command line): p with the
// column pos+1. A pos that is not valid (NoPos) gives p with no column.
func (p Position) At(pos Pos) Position {
	p.Col = 0
	if pos.IsValid() {
		p.Col = int(pos) + 1
	}
	return p
}
