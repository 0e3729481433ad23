package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/ctmatch/ctmatch"
)

// This file translates the rules of an iptables-save file on every CPU:
// lines are read ahead in batches, whose rules goroutines parse, compile
// and write as nft text (ctmatch.SaveScript.Prepare) while the batches
// before them are written out in the file's order
// (ctmatch.SaveScript.LinePrepared). At most aheadBatches batches are in
// flight, so memory does not grow with the file.

// Fewer lines in flight keep less live (about 4 KB a line until it is
// written): 128 lines and 3 batches against 256 and 4 took 16 collections
// instead of 21 for 50,000 rules, and a fifth less CPU time, on 2 CPUs.
const (
	aheadLines   = 128 // lines per batch
	aheadBatches = 3   // batches read ahead
)

// ahead is the read-ahead state of a saveFile.
type ahead struct {
	workers int           // GOMAXPROCS, read once (it takes a lock)
	table   string        // the table of the lines read so far, as far as *TABLE and COMMIT lines say
	cur     *aheadBatch   // the batch being filled
	queue   []*aheadBatch // the batches dispatched, oldest first
}

type aheadBatch struct {
	srcs   []source
	tables []string
	prep   []*ctmatch.SavePrepared
	done   chan struct{}
}

// line takes the next line of the file.
func (sf *saveFile) line(src source) {
	if sf.workers == 0 {
		sf.workers = runtime.GOMAXPROCS(0)
	}
	workers := sf.workers
	if sf.s == nil || workers < 2 {
		if sf.c != nil {
			sf.canonLine(src)
			return
		}
		sf.process(src, nil)
		return
	}
	if src.err == nil {
		switch {
		case strings.HasPrefix(src.text, "*"):
			if f := strings.Fields(src.text[1:]); len(f) > 0 {
				sf.table = f[0]
			}
		case src.text == "COMMIT":
			sf.table = ""
		}
	}
	if sf.cur == nil {
		sf.cur = &aheadBatch{srcs: make([]source, 0, aheadLines), tables: make([]string, 0, aheadLines)}
	}
	sf.cur.srcs = append(sf.cur.srcs, src)
	sf.cur.tables = append(sf.cur.tables, sf.table)
	if len(sf.cur.srcs) == aheadLines {
		sf.dispatch(workers)
	}
	for len(sf.queue) > aheadBatches {
		sf.writeOldest()
	}
}

// dispatch starts preparing the batch being filled.
func (sf *saveFile) dispatch(workers int) {
	b := sf.cur
	sf.cur = nil
	if b == nil {
		return
	}
	b.prep = make([]*ctmatch.SavePrepared, len(b.srcs))
	b.done = make(chan struct{})
	sf.queue = append(sf.queue, b)
	s := sf.s
	go func() {
		defer close(b.done)
		var wg sync.WaitGroup
		n := len(b.srcs)
		for w := range workers {
			lo, hi := n*w/workers, n*(w+1)/workers
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					if src := b.srcs[i]; src.err == nil {
						b.prep[i] = s.Prepare(src.text, b.tables[i])
					}
				}
			})
		}
		wg.Wait()
	}()
}

// writeOldest waits for the oldest batch and translates its lines in order.
func (sf *saveFile) writeOldest() {
	b := sf.queue[0]
	sf.queue = sf.queue[1:]
	<-b.done
	for i, src := range b.srcs {
		if sf.fr.failed || sf.fr.out.err != nil {
			return
		}
		sf.process(src, b.prep[i])
	}
}

// drain translates every line read ahead, at the end of the file.
func (sf *saveFile) drain() {
	sf.dispatch(runtime.GOMAXPROCS(0))
	for len(sf.queue) > 0 {
		sf.writeOldest()
	}
}

// tuneGC lets the garbage collector run less often while an iptables-save
// file is translated into an nft script, whose rules leave much short-lived
// garbage and little that lives (a few MB): up to 3 times the live heap
// between collections (GOGC=300), and a soft limit of 20 MiB on the heap,
// so that the peak memory stays under 32 MB at any size (the limit only
// with limit set). A GOGC or GOMEMLIMIT in the environment is left as it
// is. It returns what puts the settings back.
func tuneGC(limit bool) (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	gc := debug.SetGCPercent(300)
	soft := int64(math.MaxInt64)
	if limit {
		soft = 20 << 20
	}
	old := debug.SetMemoryLimit(soft)
	return func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(old)
	}
}
