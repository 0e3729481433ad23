package script

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch/internal/ktest"
	"github.com/ctmatch/ctmatch/internal/nftforms"
)

// TestNftKeywordsAgainstNft checks nftKeywords against the installed nft:
// it refuses each word (of its version) as a chain name and as a jump's
// chain, and reads as names the words that are keywords only after another
// word, and the names of chains that real rulesets use.
func TestNftKeywordsAgainstNft(t *testing.T) {
	v := nftforms.Need(t)
	ns := ktest.Namespace(t, "nft")
	refused := func(name string) (bool, string) {
		text := fmt.Sprintf("add table ip t\nadd chain ip t %s\nadd chain ip t c\nadd rule ip t c jump %s\n", name, name)
		_, stderr, err := ktest.Exec(ns, text, "nft", "-c", "-f", "-")
		return err != nil, stderr
	}
	if !slices.IsSorted(nftKeywords) {
		t.Fatal("nftKeywords is not sorted: NftKeyword searches it")
	}
	n := 0
	for _, w := range nftKeywords {
		want := true
		if since, ok := nftKeywordsSince[w]; ok {
			p := strings.Split(since, ".")
			major, _ := strconv.Atoi(p[0])
			minor, _ := strconv.Atoi(p[1])
			patch, _ := strconv.Atoi(p[2])
			want = v.AtLeast(major, minor, patch)
		}
		if got, stderr := refused(w); got != want {
			t.Errorf("nft %s: chain %q refused %v, want %v (nftKeywords): %s", v, w, got, want, stderr)
		}
		if want {
			n++
		}
	}
	for _, w := range []string{
		"saddr", "daddr", "state", "id", "length", "protocol", "version", "last", "level", "prefix",
		"filter", "nat", "raw", "mangle", "security", "input", "output", "forward", "prerouting", "postrouting",
		"DOCKER", "LOG", "f2b-sshd", "ufw-user-input", "KUBE-SERVICES", "in-new", "logdrop", "tcp_in",
	} {
		if got, stderr := refused(w); got || !BareName(w) {
			t.Errorf("nft %s: chain %q refused %v (%s), BareName %v; want a name", v, w, got, stderr, BareName(w))
		}
	}
	t.Logf("nft %s refuses the %d keywords of its version as chain names", v, n)
}
