// Package logbudgettest supports tests and benchmarks of build log handling: logs of any size
// generated as a stream, and a sampler of peak heap use.
package logbudgettest

import (
	"bytes"
	"fmt"
	"io"
	"runtime/metrics"
	"sync"
	"time"
)

// First and last lines of every generated log, so tests can check head and tail were kept.
const (
	FirstLine = "BUILD LOG START: generated log, first line\n"
	LastLine  = "BUILD FAILED: generated log, last line\n"
)

// Generated streams a log of a given size without holding it: FirstLine, numbered compiler
// lines repeating from a fixed pattern, and LastLine.
type Generated struct {
	pattern []byte
	size    int64
	off     int64
}

// NewGenerated returns a generated log of size bytes; size must hold the first and last lines.
func NewGenerated(size int64) *Generated {
	var b bytes.Buffer
	for i := range 10_000 {
		fmt.Fprintf(&b, "line %05d: cc -O2 -c src/module_%05d.c -o build/module_%05d.o\n", i, i, i)
	}
	if least := int64(len(FirstLine) + 1 + len(LastLine)); size < least {
		panic(fmt.Sprintf("generated log size %d below %d", size, least))
	}
	return &Generated{pattern: b.Bytes(), size: size}
}

// Size is the log's length in bytes.
func (g *Generated) Size() int64 { return g.size }

// Rewind starts the log over, so one pattern serves many benchmark iterations.
func (g *Generated) Rewind() { g.off = 0 }

// Read fills p in chunks copied from the pattern.
func (g *Generated) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	first := int64(len(FirstLine))
	// The body ends with a newline of its own so the last line is whole even when the
	// pattern stops mid-line.
	lastStart := g.size - int64(len(LastLine)) - 1
	n := 0
	for n < len(p) && g.off < g.size {
		var src []byte
		switch {
		case g.off < first:
			src = []byte(FirstLine[g.off:])
		case g.off < lastStart:
			src = g.pattern[(g.off-first)%int64(len(g.pattern)):]
			if rest := lastStart - g.off; int64(len(src)) > rest {
				src = src[:rest]
			}
		default:
			src = []byte(("\n" + LastLine)[g.off-lastStart:])
		}
		c := copy(p[n:], src)
		n += c
		g.off += int64(c)
	}
	return n, nil
}

// HeapSampler records the peak of live and not yet swept heap objects while it runs.
type HeapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

// StartHeapSampler starts sampling every millisecond.
func StartHeapSampler() *HeapSampler {
	h := &HeapSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		h.peak = max(h.peak, sample[0].Value.Uint64())
	}
	read()
	h.wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				read()
				return
			case <-tick.C:
				read()
			}
		}
	})
	return h
}

// PeakMiB stops the sampler and returns the peak in MiB.
func (h *HeapSampler) PeakMiB() float64 {
	close(h.stop)
	h.wg.Wait()
	return float64(h.peak) / (1 << 20)
}
