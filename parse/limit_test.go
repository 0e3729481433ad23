package parse_test

import (
	"testing"

	"github.com/ctmatch/ctmatch/parse"
)

// iptables-save's rate reads back as the same avg (what the kernel gets),
// for every rate of every unit up to 20000 packets, so that the canonical
// text is a fixed point.
func TestLimitRatePrintsBack(t *testing.T) {
	for _, unit := range []string{"sec", "min", "hour", "day"} {
		for n := 1; n <= 20000; n++ {
			words := "-m limit --limit " + itoa(n) + "/" + unit + " --limit-burst 1"
			r, err := parse.ParseText(words, parse.Options{})
			if err != nil {
				continue // faster than 10000/s, refused by the kernel, or printed as another rate
			}
			avg := r.Matches[0].(*parse.Limit).Avg()
			back, err := parse.ParseText("-m limit --limit "+parse.LimitRateText(avg)+" --limit-burst 1", parse.Options{})
			if err != nil {
				t.Fatalf("%s: printed as %s, which does not parse: %v", words, parse.LimitRateText(avg), err)
			}
			if got := back.Matches[0].(*parse.Limit).Avg(); got != avg {
				t.Fatalf("%s: avg %d printed as %s, which reads back as avg %d", words, avg, parse.LimitRateText(avg), got)
			}
		}
	}
}

// xt_limit's bucket, as limit_mt_check computes it at HZ 250 or 1000:
// 7/min has 274284 credits a packet and 1344000 in all, 4 whole packets.
func TestXTLimitBucket(t *testing.T) {
	for _, tc := range []struct {
		avg, burst, cost, depth uint32
		ok                      bool
	}{
		{parse.LimitDefaultAvg, 5, 38400000, 192000000, true},
		{85714, 5, 274284, 1344000, true},
		{66666, 10, 213331, 2112000, true},
		{10000, 1, 32000, 32000, true},
		{288000000, 5, 921600000, 313032704, false},      // 3/day: 1.44e9/10000·32000 wraps
		{864000000, 10000, 2764800000, 436497408, false}, // avg·burst wraps too
		{10000, 0, 32000, 0, false},
	} {
		cost, depth, ok := parse.XTLimitBucket(tc.avg, tc.burst)
		if cost != tc.cost || depth != tc.depth || ok != tc.ok {
			t.Errorf("XTLimitBucket(%d, %d) = %d, %d, %v; want %d, %d, %v", tc.avg, tc.burst, cost, depth, ok, tc.cost, tc.depth, tc.ok)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// A rate whose iptables-save text reads back as another rate is refused:
// --limit 961/min is avg 624, which iptables-save prints as 16/sec, avg 625.
func TestLimitRateThatDoesNotPrintBack(t *testing.T) {
	_, err := parse.ParseText("-m limit --limit 961/min", parse.Options{})
	e, ok := err.(*parse.Error)
	if !ok || e.Kind != parse.Unsupported || e.Pos != 17 {
		t.Fatalf("error %v, want Unsupported at the rate", err)
	}
}
