// Package script reads the files of commands ctmatch takes, one line at a
// time: iptables-save files (SaveReader, save.go: *TABLE, :CHAIN POLICY,
// rules with their counters, -N, -X, -P, -F, -Z, COMMIT, read as
// iptables-restore 1.8.9 reads them, -I positions resolved in the file), and
// the lines of ctmatch apply,
//
//	add rule FAMILY TABLE CHAIN [--index N | --handle H] [-4|-6] [--no-counter] -- WORDS
//	insert rule FAMILY TABLE CHAIN [--index N | --handle H] [-4|-6] [--no-counter] -- WORDS
//
// blank lines, and comments (lines whose first word starts with #).
//
// ReadLine reads one line into a Line: what it asks for, its rule's words
// parsed with package parse, and where each part of it was written. A bad
// line is a *parse.Error about the line's text, with the offending word's
// offset, as package parse reports a bad rule; the caller knows the line's
// file and number and says them (Line.Position, parse.Position).
//
// The package is pure: it reads text it is given, never a file, and it
// neither compiles the rules nor talks to the kernel. What a line means for
// a table (its groups, --index and --handle) is decided where the changes
// are applied.
package script
