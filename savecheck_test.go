package ctmatch_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/internal/cases"
	"github.com/ctmatch/ctmatch/parse"
)

// saveFileErrors translates text as an iptables-save file and returns the
// first error, with the position of its line. It gives each line's rule
// back (Done) as translate -f does, so that what the checks at COMMIT say
// of a rule comes from what they kept, not from the rule's reused memory.
func saveFileError(text string, v6 bool) (*parse.Error, parse.Position) {
	s := ctmatch.NewSaveScript(ctmatch.Options{IPv6: v6})
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		at := parse.Position{File: "rules", Line: i + 1}
		l, err := s.Line(io.Discard, line, at)
		if err == nil {
			s.Done(l)
		}
		var table ctmatch.SaveErrors
		if errors.As(err, &table) {
			return table[0].Err, table[0].At
		}
		if err != nil {
			var pe *parse.Error
			if errors.As(err, &pe) {
				return pe, at
			}
			return &parse.Error{Msg: err.Error()}, at
		}
	}
	if l, err := s.End(); err != nil {
		var pe *parse.Error
		errors.As(err, &pe)
		return pe, l.Pos
	}
	return nil, parse.Position{}
}

// TestSaveCheck checks the whole-file cases: the kind and place of the
// error, and that it agrees with what the real iptables-restore does
// (recorded in each case, which e2e's oracle checks against the tools).
func TestSaveCheck(t *testing.T) {
	for _, c := range cases.SaveCheckCases {
		t.Run(c.Name, func(t *testing.T) {
			text, line, col := c.File()
			switch c.Kind {
			case "":
				if !c.NFT {
					t.Fatalf("case accepted by ctmatch but not by iptables-nft-restore")
				}
			case "invalid":
				if c.NFT {
					t.Fatalf("case refused as invalid but iptables-nft-restore loads it")
				}
			case "unsupported":
				if !c.NFT || c.Legacy {
					t.Fatalf("an unsupported case is one iptables-nft-restore loads and iptables-legacy-restore refuses")
				}
			}
			pe, at := saveFileError(text, c.V6)
			if c.Kind == "" {
				if pe != nil {
					t.Fatalf("refused at %s: %v", at, pe)
				}
				return
			}
			if pe == nil {
				t.Fatalf("accepted; want %s at %d:%d", c.Kind, line, col)
			}
			kind := map[parse.ErrorKind]string{parse.Invalid: "invalid", parse.Unsupported: "unsupported"}[pe.Kind]
			if kind != c.Kind || at.Line != line || int(pe.Pos)+1 != col || !strings.Contains(pe.Msg, c.Msg) {
				t.Errorf("got %s at %d:%d: %s\nwant %s at %d:%d with %q", kind, at.Line, pe.Pos+1, pe.Msg, c.Kind, line, col, c.Msg)
			}
		})
	}
}

// TestSaveCheckPath checks the chain path an error names, jump by jump.
func TestSaveCheckPath(t *testing.T) {
	text := "*filter\n:INPUT ACCEPT [0:0]\n:U - [0:0]\n:V - [0:0]\n-A V -m owner --uid-owner 0\n-A U -j V\n-A INPUT -j U\nCOMMIT\n"
	pe, at := saveFileError(text, false)
	if pe == nil {
		t.Fatal("accepted")
	}
	want := "-m owner in chain V, reached from INPUT by the jump at rules:7, then from U by the jump at rules:6: "
	if at.Line != 5 || !strings.HasPrefix(pe.Msg, want) {
		t.Errorf("got line %d: %s\nwant line 5: %s…", at.Line, pe.Msg, want)
	}
}
