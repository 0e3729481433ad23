package lab

import "testing"

// What the HZ-dependent tests decide from MaxTimeout: the 32-bit wrap flows
// of TestLabExpireLimit (4294970 s) fit below HZ=500 only, the 100-day and
// 32-bit-edge flows of TestLabFirstPacketReadings at HZ 100 and 250 (the
// edge at 300 too).
func TestMaxTimeout(t *testing.T) {
	for _, c := range []struct {
		hz                      uint32
		want                    uint64
		wrap, hundredDays, edge bool
	}{
		{100, 21474836, true, true, true},
		{250, 8589934, true, true, true},
		{300, 7158278, true, false, true},
		{1000, 2147483, false, false, false},
	} {
		got := MaxTimeout(c.hz)
		if got != c.want {
			t.Errorf("MaxTimeout(%d) = %d, want %d", c.hz, got, c.want)
		}
		if (4294970 <= got) != c.wrap || (8540199 < got) != c.hundredDays || (MaybeBeyondSeconds < got) != c.edge {
			t.Errorf("HZ=%d: %d s fits the wrap flows %v, the 100-day flow %v, the edge %v; want %v %v %v",
				c.hz, got, 4294970 <= got, 8540199 < got, MaybeBeyondSeconds < got, c.wrap, c.hundredDays, c.edge)
		}
	}
}
