package lab

import "testing"

// A case's words choose its xt side: conntrack and state matches alone go
// to iptables-nft (which keeps them as xt matches), anything else to
// iptables-legacy, -f alone included (iptables-nft stores -f as native
// payload expressions). The words are read parsed, and, for words of a
// test's own translation that ctmatch does not read, scanned. (No kernel
// needed.)
func TestBackendOfWords(t *testing.T) {
	for _, c := range []struct {
		words string
		want  backend
	}{
		{"-m conntrack --ctstate NEW", xtNFT},
		{"-m state --state NEW -m conntrack --ctdir ORIGINAL", xtNFT},
		{"-f", xtLegacy},
		{"! -f", xtLegacy},
		{"-f -m conntrack --ctstate NEW", xtLegacy},
		{"-p tcp", xtLegacy},
		{"-m mark --mark 1", xtLegacy},
		{"-i r0 -m conntrack --ctstate NEW", xtLegacy},
	} {
		w, err := readWords(Case{Name: c.words, Words: c.words})
		if err != nil {
			t.Fatalf("%q: %v", c.words, err)
		}
		if got := backendOf(w); got != c.want {
			t.Errorf("%q: %s, want %s", c.words, got, c.want)
		}
		if got := backendOf(scanWords(c.words)); got != c.want {
			t.Errorf("%q scanned: %s, want %s", c.words, got, c.want)
		}
	}
}
