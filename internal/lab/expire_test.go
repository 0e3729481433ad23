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
}

// Beyond32 compares the reading's milliseconds with 2³²−1: within second
// 4,294,967, the jiffies from 2³² ms on are beyond, those before are not.
// MaybeBeyond32, which sees the seconds only, holds for the whole second.
func TestBeyond32(t *testing.T) {
	for _, c := range []struct {
		left   int32
		hz     uint32
		want   Reading
		beyond bool
	}{
		{4294967*250 - 1, 250, Reading{4294966, 4294966996}, false},
		{4294967 * 250, 250, Reading{4294967, 4294967000}, false},
		// 4,294,967,292 ms: the last value 32 bits hold at HZ=250.
		{4294967*250 + 73, 250, Reading{4294967, 4294967292}, false},
		// 4,294,967,296 ms: 0 in nft's 32 bits; xt reads 4294967.
		{4294967*250 + 74, 250, Reading{4294967, 0}, true},
		// 4,294,967,500 ms: what the lab's edge flow reads.
		{4294967*250 + 125, 250, Reading{4294967, 204}, true},
		{4294967*250 + 249, 250, Reading{4294967, 700}, true},
		{4294968 * 250, 250, Reading{4294968, 704}, true},
		// HZ=100: 4,294,967,290 ms holds, 4,294,967,300 ms does not.
		{429496729, 100, Reading{4294967, 4294967290}, false},
		{429496730, 100, Reading{4294967, 4}, true},
		// The 100-day reading of TestFirstPacket.
		{2135049796, 250, Reading{8540199, 4245231888}, true},
		{250, 250, Reading{1, 1000}, false},
		{0, 250, Reading{}, false},
	} {
		got := Remaining(c.left, c.hz)
		if got != c.want {
			t.Errorf("Remaining(%d, %d) = %+v, want %+v", c.left, c.hz, got, c.want)
		}
		if got.Beyond32() != c.beyond {
			t.Errorf("%+v (%d jiffies at HZ=%d).Beyond32() = %v, want %v", got, c.left, c.hz, got.Beyond32(), c.beyond)
		}
		if maybe := got.Seconds >= 4294967; got.MaybeBeyond32() != maybe {
			t.Errorf("%+v.MaybeBeyond32() = %v, want %v", got, got.MaybeBeyond32(), maybe)
		}
	}
}

// Jiffies holds the uptimes the documentation speaks of, at every HZ: the
// values are worked out by hand, (uptime − 300 s)·HZ modulo 2³².
func TestJiffiesLongUptimes(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		uptime time.Duration
		hz     uint32
		want   uint32
	}{
		// 106.75 days at HZ=1000: 9,223,200,000 s ·1000 is 9.2·10¹²
		// jiffies; in nanoseconds times HZ, past 2⁶³.
		{107 * day, 1000, 654565408},                     // 9,244,500,000 − 2·2³²
		{150 * day, 1000, 74798112},                      // 12,959,700,000 − 3·2³²
		{120 * day, 250, 2591925000},                     // 2,591,925,000
		{200 * day, 250, 24957704},                       // 4,319,925,000 − 2³²
		{1000 * day, 1000, 500354080},                    // 86,399,700,000 − 20·2³²
		{200*day + 999*time.Millisecond, 1000, 99831815}, // 17,279,700,999 − 4·2³²
		{200*day + 999*time.Millisecond, 300, 888943003}, // 5,183,910,299 − 2³² (999 ms: 299.7 jiffies)
		{0, 250, 4294892296},                             // 2³² − 75,000
	} {
		if got := Jiffies(c.uptime, c.hz); got != c.want {
			t.Errorf("Jiffies(%v, %d) = %d, want %d", c.uptime, c.hz, got, c.want)
		}
	}
}
