package lab

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// BacklogDrops returns the packets the kernel's per-CPU input backlogs
// have dropped since boot, all CPUs together (the second column of
// /proc/net/softnet_stat, one line a CPU, in hexadecimal): a count that
// grows when the machine receives faster than it processes, which loses
// a lab probe's packet without any rule's doing. 0 when it cannot be read.
func BacklogDrops() uint64 {
	f, err := os.Open("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	return backlogDrops(f)
}

func backlogDrops(r io.Reader) uint64 {
	var sum uint64
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 16, 64); err == nil {
			sum += n
		}
	}
	return sum
}
