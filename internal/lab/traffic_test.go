package lab

import (
	"fmt"
	"testing"
	"time"
)

// checkLeft accepts what conntrack -G may say while it runs: the whole
// seconds a flow had left at some moment of its run, the flow's timer set
// half a second before the error's time. Run on time, that is the timeout
// less one second; run late, across a second, one second less too.
func TestCheckLeft(t *testing.T) {
	const line = "udp      17 %s src=10.1.0.2 dst=10.2.0.2 sport=40010 dport=8010 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=8010 dport=40010 mark=0 use=1"
	ms := time.Millisecond
	for _, c := range []struct {
		left     string
		timeout  int
		spread   time.Duration
		from, to time.Duration
		ok       bool
	}{
		{"29", 30, 20 * ms, 5 * ms, 60 * ms, true},
		{"30", 30, 20 * ms, 5 * ms, 60 * ms, false},
		{"28", 30, 20 * ms, 5 * ms, 60 * ms, false},
		// Run from 0.3 to 0.7 s after the error's time: 29.2 to 28.8 s left.
		{"28", 30, 20 * ms, 300 * ms, 700 * ms, true},
		{"29", 30, 20 * ms, 300 * ms, 700 * ms, true},
		{"27", 30, 20 * ms, 300 * ms, 700 * ms, false},
		{"30", 30, 20 * ms, 300 * ms, 700 * ms, false},
		// Run 2 s late: 27.5 s left.
		{"27", 30, 20 * ms, 2 * time.Second, 2050 * ms, true},
		{"29", 30, 20 * ms, 2 * time.Second, 2050 * ms, false},
		{"4294968", 4294969, 40 * ms, 10 * ms, 80 * ms, true},
		{"4294969", 4294969, 40 * ms, 10 * ms, 80 * ms, false},
		// A flow of one second, read half a second after its error: 0.
		{"0", 1, 20 * ms, 450 * ms, 600 * ms, true},
		{"x", 30, 20 * ms, 5 * ms, 60 * ms, false},
	} {
		out := fmt.Sprintf(line, c.left)
		if err := checkLeft(out, c.timeout, c.spread, c.from, c.to); (err == nil) != c.ok {
			t.Errorf("checkLeft(%s s left, timeout %d, timers %v apart, run %v to %v) = %v, want ok %v", c.left, c.timeout, c.spread, c.from, c.to, err, c.ok)
		}
	}
	if err := checkLeft("", 30, 0, 0, 0); err == nil {
		t.Error("checkLeft of no output: want an error")
	}
	// A flow with half a second left, read 0.6 s after its error: it may be
	// gone, and no entry is what conntrack then says.
	if err := checkLeft("", 1, 20*ms, 550*ms, 600*ms); err != nil {
		t.Errorf("checkLeft of no output for a flow that may have expired: %v", err)
	}
	if mayHaveExpired(1, 20*ms, 400*ms) || !mayHaveExpired(1, 20*ms, 600*ms) || mayHaveExpired(30, 20*ms, 2*time.Second) {
		t.Error("mayHaveExpired: a 1 s timer set half a second before is gone only after about 0.5 s, a 30 s one not after 2 s")
	}
}
