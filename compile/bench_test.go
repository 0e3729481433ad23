package compile_test

import (
	"io"
	"testing"

	"github.com/ctmatch/ctmatch/compile"
	"github.com/ctmatch/ctmatch/expr"
	"github.com/ctmatch/ctmatch/parse"
)

// benchTranslate measures what translate does for one rule: parse the words,
// compile them and render the nft text.
func benchTranslate(b *testing.B, words string) {
	b.ReportAllocs()
	opts := compile.Options{Table: expr.FamilyIP, Counter: true}
	for b.Loop() {
		r, err := parse.ParseText(words, parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rules, err := compile.Rule(r, opts)
		if err != nil {
			b.Fatal(err)
		}
		for _, nr := range rules {
			nr.WriteText(io.Discard)
		}
	}
}

func BenchmarkTranslateSimple(b *testing.B) {
	benchTranslate(b, "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")
}

func BenchmarkTranslateComplex(b *testing.B) {
	benchTranslate(b, "-A INPUT -m conntrack ! --ctstate NEW,SNAT --ctproto tcp --ctorigsrc 10.1.0.0/255.255.0.255 "+
		"--ctorigdstport 1000:2000 ! --ctstatus ASSURED --ctexpire 30:60 --ctdir REPLY -m conntrack ! --ctstate INVALID -j ACCEPT")
}

// BenchmarkTranslatePorts is the whole rule real rulesets write most:
// protocol, port and state.
func BenchmarkTranslatePorts(b *testing.B) {
	benchTranslate(b, "-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT")
}
