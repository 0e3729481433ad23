package parse

import (
	"slices"
	"strings"
)

// nameTable is a table of names and their values, sorted by name (byte
// order), looked up by binary search. Unlike a map it is built by the
// linker, not when the program starts: a command that reads one rule does
// not pay for building the tables of every name.
type nameTable[T any] []struct {
	name string
	val  T
}

// lookup returns the value of name, and whether the table has it.
func (t nameTable[T]) lookup(name string) (T, bool) {
	i, ok := slices.BinarySearchFunc(t, name, func(e struct {
		name string
		val  T
	}, name string) int {
		return strings.Compare(e.name, name)
	})
	if !ok {
		var zero T
		return zero, false
	}
	return t[i].val, true
}
