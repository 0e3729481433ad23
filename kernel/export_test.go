package kernel

import "github.com/ctmatch/ctmatch/internal/nfnl"

// BatchMessages returns the message of each change of tx as it is encoded
// in the batch (its sequence number and echo flag not yet written), for the
// tests of package kernel_test that compare them with nft's.
func BatchMessages(tx *Tx) [][]byte {
	var out [][]byte
	tx.eachMessage(func(_ int, _ nfnl.Header, m []byte) {
		out = append(out, append([]byte(nil), m...))
	})
	return out
}
