package e2e

import (
	"testing"

	"github.com/ctmatch/ctmatch/internal/nftforms"
)

// The nft the tests run is an oracle whose bytes changed in nft 1.1.2 (see
// internal/nftforms): tests that compare what nft loaded with what ctmatch
// loaded compare bytes with nft 1.0.6 to 1.1.1, and nftforms.Lines of both
// with later versions.

// nftVersion returns the version of the nft in PATH.
func nftVersion(t *testing.T) nftforms.Version {
	t.Helper()
	return nftforms.Need(t)
}

// nftVersionText is the version of the nft in PATH as "1.0.6".
func nftVersionText(t *testing.T) string { return nftVersion(t).String() }

// nftAtLeast reports whether nft is version major.minor.patch or later.
func nftAtLeast(t *testing.T, major, minor, patch int) bool {
	return nftVersion(t).AtLeast(major, minor, patch)
}
