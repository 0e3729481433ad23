package ctmatch

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// failingStore takes n bytes, then fails every write.
type failingStore struct {
	memStore
	n int
}

var errStoreFull = errors.New("store full")

func (f *failingStore) Write(p []byte) (int, error) {
	if len(f.b)+len(p) > f.n {
		return 0, errStoreFull
	}
	return f.memStore.Write(p)
}

// A SaveCanon whose store fails returns the store's error from WriteTo and
// writes nothing; with room enough, the same file is written whole, rules
// of a chain read back across the places -I put them.
func TestSaveCanonStore(t *testing.T) {
	file := []string{"*filter", ":INPUT DROP [0:0]", "-A INPUT -p tcp --dport 22 -j ACCEPT", "-A OUTPUT -j ACCEPT",
		"-A INPUT -p tcp --dport 80 -j ACCEPT", "-I INPUT 2 -p udp --dport 53 -j ACCEPT", "COMMIT"}
	read := func(store CanonStore) (string, error) {
		s := NewSaveCanonIn(Options{}, store)
		for i, text := range file {
			if _, err := s.Line(text, parse.Position{File: "f", Line: i + 1}); err != nil {
				t.Fatal(err)
			}
		}
		var b strings.Builder
		_, err := s.WriteTo(&b)
		return b.String(), err
	}
	got, err := read(&failingStore{n: 1 << 20})
	want := "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
		"-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n" +
		"-A OUTPUT -j ACCEPT\nCOMMIT\n"
	if err != nil || got != want {
		t.Errorf("with room: %v\n%s\nwant\n%s", err, got, want)
	}
	got, err = read(&failingStore{n: 60})
	if !errors.Is(err, errStoreFull) || got != "" {
		t.Errorf("a store that fails: %v, wrote %q; want its error and nothing", err, got)
	}
}
