package nftexport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctmatch/ctmatch"
	"github.com/ctmatch/ctmatch/nftexport"
)

// A CONNMARK whose masks combine both marks needs a bitwise of two
// registers, which google/nftables v0.3.0 cannot encode: the export refuses
// it and says why; the masks that leave one mark out are exported.
func TestExportRefusesCombinedMarks(t *testing.T) {
	r, err := ctmatch.Translate("-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff00", ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nftexport.Exprs(r)
	var ee *nftexport.Error
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "NFTA_BITWISE_SREG2") {
		t.Errorf("Exprs() error %v, want an *nftexport.Error naming NFTA_BITWISE_SREG2", err)
	}
	r, err = ctmatch.Translate("-t mangle -A PREROUTING -j CONNMARK --restore-mark --ctmask 0xff00", ctmatch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nftexport.Exprs(r); err != nil {
		t.Errorf("a one-mark restore: Exprs() error %v", err)
	}
}
