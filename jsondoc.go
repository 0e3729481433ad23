package ctmatch

import (
	"encoding/json"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// JSONDoc writes a libnftables JSON document, {"nftables": [COMMAND, …]}
// (libnftables-json(5), what nft -j -f reads), one command at a time: the
// JSON form of the nft scripts translate writes. Close ends it.
type JSONDoc struct {
	w      io.Writer
	n      int
	err    error
	buf    []byte
	closed bool // Close wrote the end; a second Close writes nothing
}

// NewJSONDoc returns a document written to w.
func NewJSONDoc(w io.Writer) *JSONDoc { return &JSONDoc{w: w} }

// Command writes one command: a JSON object such as {"add": {"table": …}}.
func (d *JSONDoc) Command(obj []byte) error {
	if d.err != nil {
		return d.err
	}
	d.buf = d.buf[:0]
	if d.n == 0 {
		d.buf = append(d.buf, `{"nftables":[`+"\n"...)
	} else {
		d.buf = append(d.buf, ",\n"...)
	}
	d.buf = append(d.buf, obj...)
	d.n++
	_, d.err = d.w.Write(d.buf)
	return d.err
}

// Close ends the document (an empty one is {"nftables":[]}), and returns the
// first error of a write.
func (d *JSONDoc) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.closed {
		return nil
	}
	d.closed = true
	end := "\n]}\n"
	if d.n == 0 {
		end = `{"nftables":[]}` + "\n"
	}
	_, d.err = io.WriteString(d.w, end)
	return d.err
}

// Commands returns how many commands the document has.
func (d *JSONDoc) Commands() int { return d.n }

// object returns {"VERB": {"KIND": {"family": F, "table"|"name": …}}}
// for the table (chain "") or the chain.
func tableObject(verb string, fam expr.Family, table, chain string) []byte {
	b := append([]byte(`{"`), verb...)
	if chain == "" {
		b = append(b, `":{"table":{"family":`...)
		b = jsonString(b, fam.String())
		b = jsonString(append(b, `,"name":`...), table)
		return append(b, "}}}"...)
	}
	b = append(b, `":{"chain":{"family":`...)
	b = jsonString(b, fam.String())
	b = jsonString(append(b, `,"table":`...), table)
	b = jsonString(append(b, `,"name":`...), chain)
	return append(b, "}}}"...)
}

// baseChainObject returns the add chain command of a base chain.
func baseChainObject(fam expr.Family, table, chain, typ, hook string, prio int, policy string) []byte {
	b := append([]byte(`{"add":{"chain":{"family":`), jsonString(nil, fam.String())...)
	b = jsonString(append(b, `,"table":`...), table)
	b = jsonString(append(b, `,"name":`...), chain)
	b = jsonString(append(b, `,"type":`...), typ)
	b = jsonString(append(b, `,"hook":`...), hook)
	b = strconv.AppendInt(append(b, `,"prio":`...), int64(prio), 10)
	b = jsonString(append(b, `,"policy":`...), policy)
	return append(b, "}}}"...)
}

// jsonTextError refuses a rule whose words (a comment, a log prefix, a
// chain's name), table or chain hold bytes that are not UTF-8: a JSON
// string cannot carry them (an encoder writes U+FFFD in their place, and nft
// would load other bytes than -o nft's text gives). It points at the first
// such byte of the words.
func jsonTextError(r *Rule, table, chain string) error {
	if r.Source == nil || utf8.ValidString(r.Source.Text) && utf8.ValidString(table) && utf8.ValidString(chain) {
		return nil
	}
	text := r.Source.Text
	at := 0
	for at < len(text) {
		c, n := utf8.DecodeRuneInString(text[at:])
		if c == utf8.RuneError && n <= 1 {
			break
		}
		at += n
	}
	word := ""
	if at < len(text) {
		end := at
		for end < len(text) && text[end] != ' ' {
			end++
		}
		word = text[at:end]
	}
	return &parse.Error{Pos: parse.Pos(at), Word: word, Text: text, Kind: parse.Unsupported,
		Msg:  "a byte that is not UTF-8: a JSON string cannot carry it (an encoder writes U+FFFD in its place), so -o json would load other bytes than the rule's",
		Hint: "-o nft keeps the bytes as they are; or write the text in UTF-8"}
}

func jsonString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		return append(b, `""`...)
	}
	return append(b, q...)
}

// WriteJSONCommands is WriteCommands for a JSON document: the nft rules of
// r as add rule (at the end), insert rule (at the top) or add rule with
// nft's index.
func WriteJSONCommands(d *JSONDoc, r *Rule, table, chain string, after, total int) error {
	if err := jsonTextError(r, table, chain); err != nil {
		return err
	}
	for i, nr := range r.Rules {
		verb, index := "add", -1
		switch {
		case after == total:
		case after == 0 && i == 0:
			verb = "insert"
		default:
			index = after + i - 1
		}
		b := append([]byte(`{"`+verb+`":{"rule":`), nr.AppendJSONRule(nil, r.Table, table, chain, index)...)
		if err := d.Command(append(b, "}}"...)); err != nil {
			return err
		}
	}
	return nil
}
