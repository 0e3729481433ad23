package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's clock tick (CONFIG_HZ), which bounds what the lab can make
// the kernel hold: a conntrack's timeout is kept in jiffies, at most
// INT_MAX of them (__nf_ct_set_timeout, include/net/netfilter/
// nf_conntrack_core.h, caps what conntrack -U asks for; the timeout
// sysctls hold an int of jiffies too). So the largest timeout is
// 2³¹−1 / HZ seconds: 21,474,836 s at HZ=100, 8,589,934 s at HZ=250,
// 7,158,278 s at HZ=300, 2,147,483 s at HZ=1000 — below the 4,294,968 s
// beyond nft's 32 bits of milliseconds.

// readJiffies returns the kernel's jiffies and the CLOCK_MONOTONIC time, in
// nanoseconds, at which /proc/timer_list read them. The kernel writes the
// file in pieces, one per read, so the two may be some time apart on a busy
// machine: the jiffies are the kernel's own all the same, the time is for
// aiming only.
func readJiffies() (j uint64, mono int64, err error) {
	b, err := os.ReadFile("/proc/timer_list")
	if err != nil {
		return 0, 0, err
	}
	haveNow, haveJ := false, false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && !(haveNow && haveJ) {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "now at "); ok && !haveNow {
			mono, err = strconv.ParseInt(strings.TrimSuffix(s, " nsecs"), 10, 64)
			haveNow = err == nil
		}
		if s, ok := strings.CutPrefix(line, "jiffies: "); ok && !haveJ {
			j, err = strconv.ParseUint(s, 10, 64)
			haveJ = err == nil
		}
	}
	if !haveNow || !haveJ {
		return 0, 0, fmt.Errorf("/proc/timer_list: no \"now at\" and \"jiffies:\" lines (%v)", sc.Err())
	}
	return j, mono, nil
}

func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// KnownHZ are the clock ticks the kernel can be built with.
var KnownHZ = []uint32{100, 250, 300, 1000}

// MeasureHZ reads the jiffies twice, half a second apart, and returns the
// one of KnownHZ that their rate is. A busy machine may skew one reading:
// it tries five times.
func MeasureHZ() (uint32, error) {
	hz, _, _, err := measureHZ()
	return hz, err
}

// measureHZ is MeasureHZ, with the second reading's jiffies and time.
func measureHZ() (hz uint32, j uint64, mono int64, err error) {
	var rate float64
	for range 5 {
		j0, m0, err := readJiffies()
		if err != nil {
			return 0, 0, 0, err
		}
		time.Sleep(500 * time.Millisecond)
		j1, m1, err := readJiffies()
		if err != nil {
			return 0, 0, 0, err
		}
		rate = float64(j1-j0) / (float64(m1-m0) / 1e9)
		for _, hz := range KnownHZ {
			if math.Abs(rate-float64(hz)) < 0.05*float64(hz) {
				return hz, j1, m1, nil
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("the jiffies advance %.1f times a second: no CONFIG_HZ the lab knows", rate)
}

// MaxTimeout is the largest timeout, in seconds, that the kernel holds for
// a conntrack at hz: 2³¹−1 jiffies.
func MaxTimeout(hz uint32) uint64 { return math.MaxInt32 / uint64(hz) }
