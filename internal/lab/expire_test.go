package lab

import (
	"testing"
	"time"
)

// FirstPacket is the kernel's arithmetic: (s32)(timeout·HZ − (u32)jiffies),
// at least 0, in whole seconds for xt and in 32-bit milliseconds for nft,
// with jiffies that start 300 s below zero. The values are worked out by
// hand from the kernel's definitions.
func TestFirstPacket(t *testing.T) {
	for _, c := range []struct {
		timeout uint32
		uptime  time.Duration
		hz      uint32
		want    Reading
	}{
		{30, 0, 250, Reading{330, 330000}},
		{30, 120 * time.Second, 250, Reading{210, 210000}},
		{120, 120 * time.Second, 250, Reading{300, 300000}},
		{600, 120 * time.Second, 250, Reading{780, 780000}},
		{30, 329*time.Second + 500*time.Millisecond, 250, Reading{0, 500}},
		{30, 330 * time.Second, 250, Reading{}},
		{30, 600 * time.Second, 250, Reading{}},
		{600, 600 * time.Second, 250, Reading{300, 300000}},
		// 100 days at HZ=250: jiffies 2,159,925,000, past 2³¹; the
		// difference, 2,135,049,796 jiffies, is positive again: 8,540,199 s,
		// which nft holds as 8,540,199,184 − 2³² ms.
		{30, 100 * 24 * time.Hour, 250, Reading{8540199, 4245231888}},
		// At HZ=1000 the same uptime is past 2³² jiffies and back below
		// 2³¹: 0; nft's milliseconds never wrap there (at most 2³¹−1).
		{30, 100 * 24 * time.Hour, 1000, Reading{}},
		// 30 days at HZ=1000: jiffies 2,591,700,000, past 2³¹; the
		// difference is 1,703,297,296 jiffies.
		{30, 30 * 24 * time.Hour, 1000, Reading{1703297, 1703297296}},
		// HZ=300 rounds milliseconds up (DIV_ROUND_UP): 32 jiffies are
		// 106.7 ms.
		{30, 329*time.Second + 895*time.Millisecond, 300, Reading{0, 107}},
	} {
		got := FirstPacket(c.timeout, Jiffies(c.uptime, c.hz), c.hz)
		if got != c.want {
			t.Errorf("FirstPacket(%d s, uptime %v, HZ %d) = %+v, want %+v", c.timeout, c.uptime, c.hz, got, c.want)
		}
	}
	if !(Reading{8540199, 4245231888}).Beyond32() || (Reading{4294967, 4294967000}).Beyond32() {
		t.Error("Beyond32: want true above 4,294,967 s only")
	}
}
