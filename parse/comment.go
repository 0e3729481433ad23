package parse

import (
	"fmt"
	"strings"
)

// This file reads the comment match ("-m comment --comment TEXT"), as
// iptables 1.8.9 reads it (extensions/libxt_comment.c: one XTTYPE_STRING
// option of XT_MAX_COMMENT_LEN bytes, its NUL included, mandatory, not
// invertible, at most once per match) and as iptables-save prints it
// (xtables_save_string).

// MaxComment is the longest comment iptables keeps, in bytes: the kernel's
// XT_MAX_COMMENT_LEN (256) less the terminating NUL. iptables 1.8.9 cuts a
// longer one to this length without a word, and so does ctmatch.
const MaxComment = 255

// MaxNftComment is the longest comment nft takes on a rule, in bytes
// (nft's NFTNL_UDATA_COMMENT_MAXLEN: "comment too long, 128 characters
// maximum allowed").
const MaxNftComment = 128

// Comment is "-m comment --comment TEXT". It matches every packet
// (xt_comment's match function returns true); Text is what it says.
type Comment struct {
	Module  string `json:"module"`     // "comment"
	Flag    Pos    `json:"pos"`        // the -m word
	NamePos Pos    `json:"name_pos"`   // the "comment" word
	Option  Pos    `json:"option_pos"` // the --comment word
	Value   Word   `json:"value"`      // as written (quotes included)
	Text    string `json:"text"`       // the comment, cut to MaxComment bytes as iptables cuts it
	set     bool
	written int // the bytes of the comment as written, before the cut
	end     Pos
}

func (*Comment) isMatch() {}

// Pos returns the position of -m.
func (m *Comment) Pos() Pos { return m.Flag }

// End returns the end of the match's last word.
func (m *Comment) End() Pos { return m.end }

// commentSpecs is the comment match's one option.
var commentSpecs = []optSpec{{long: "comment", what: "a comment", comment: true}}

// commentOption reads --comment TEXT for the last comment match.
func (p *parser) commentOption(w word, neg *word, spec *optSpec, attached string, hasValue bool) error {
	m := p.lastComment
	if neg != nil {
		return p.errorf(*neg, "comment: option \"--comment\" cannot be inverted")
	}
	if m.set {
		return p.errorf(w, "comment: option \"--comment\" can only be used once")
	}
	v, err := p.value(w, spec, attached, hasValue)
	if err != nil {
		return err
	}
	text := v.val
	if len(text) > MaxComment {
		// xtopt_parse_string copies at most size-1 bytes.
		text = text[:MaxComment]
	}
	m.Option, m.Value, m.Text, m.set = w.pos, Word{Text: p.text[v.pos:v.end], At: v.pos}, text, true
	if v.end > m.end {
		m.end = v.end
	}
	m.written = len(v.val)
	return nil
}

// NftCommentError returns what keeps the rule's comment matches from being
// nft's comment of a rule, or nil: a second comment match (an nft rule has
// one comment), a comment of more than MaxNftComment bytes (nft's limit),
// a comment with a double quote (nft's strings have no escape for it). Each
// is valid iptables (Unsupported), and iptables-save prints it: fmt and
// translate -o iptables take it, and compile.Rule refuses it.
func (r *Rule) NftCommentError() *Error {
	var first *Comment
	for _, m := range r.Matches {
		c, ok := m.(*Comment)
		if !ok {
			continue
		}
		if first != nil {
			return &Error{Pos: c.Flag, Word: r.Text[c.Flag:c.end], Text: r.Text, Kind: Unsupported,
				Msg:  "a second comment match is valid iptables, but an nft rule has one comment",
				Hint: "join the comments into one --comment"}
		}
		first = c
		word := r.Text[c.Value.At:c.Value.End()]
		if len(c.Text) > MaxNftComment {
			kept := ""
			if c.written > MaxComment {
				kept = " (iptables keeps its first 255)"
			}
			return &Error{Pos: c.Value.At, Word: word, Text: r.Text, Kind: Unsupported,
				Msg:  fmt.Sprintf("a comment of %d bytes is valid iptables%s, but nft takes at most %d bytes in a rule's comment", c.written, kept, MaxNftComment),
				Hint: "shorten the comment to 128 bytes"}
		}
		if strings.IndexByte(c.Text, '"') >= 0 {
			return &Error{Pos: c.Value.At, Word: word, Text: r.Text, Kind: Unsupported,
				Msg: "a comment with a double quote is valid iptables, but nft's strings cannot hold one", Hint: "write the comment without \""}
		}
	}
	return nil
}

// checkComment checks what iptables checks of a comment match once the
// rule is read: that it has its --comment, and that the rule has no other
// comment match.
func (p *parser) checkComment(m *Comment) error {
	if !m.set {
		return &Error{Pos: m.NamePos, Word: p.text[m.NamePos:m.end], Text: p.text,
			Msg: "comment: option \"--comment\" must be specified"}
	}
	return nil
}

// Comment returns the rule's first comment match, or nil.
func (r *Rule) Comment() *Comment {
	for _, m := range r.Matches {
		if c, ok := m.(*Comment); ok {
			return c
		}
	}
	return nil
}

// SaveString returns s as iptables-save writes a string option's value
// (xtables_save_string): as it is when it is only letters, digits, "_" and
// "-", and otherwise between double quotes, with ", \ and ' escaped by a
// backslash ("" for the empty string).
func SaveString(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func (p *printer) comment(m *Comment) {
	p.word("-m")
	p.word("comment")
	p.word("--comment")
	p.word(SaveString(m.Text))
}
