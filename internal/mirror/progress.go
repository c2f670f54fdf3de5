package mirror

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// tracker counts what a copy has done; it is safe for concurrent use.
type tracker struct {
	layers     int   // layer blobs to copy
	bytes      int64 // bytes of every blob to copy
	layersDone atomic.Int64
	// bytesDone counts the blobs finished (uploaded, mounted or found present) and the
	// bytes of the current attempt of each upload under way.
	bytesDone atomic.Int64
	// bytesSent counts every byte read for an upload, failed attempts included.
	bytesSent atomic.Int64
}

// trackedLayer is a source blob whose reads the tracker counts. A new read (a retried
// upload) takes the bytes of the previous one off the tracker's bytesDone. With raw set,
// the blob is read through it rather than through the layer (see blobReader).
type trackedLayer struct {
	v1.Layer
	t       *tracker
	isLayer bool // a layer rather than a config
	digest  v1.Hash
	size    int64
	raw     *blobReader

	mu      sync.Mutex
	attempt *atomic.Int64 // bytes read by the current attempt
	reads   int           // Compressed calls
}

var (
	_ v1.Layer      = (*trackedLayer)(nil)
	_ io.ReadCloser = (*countingReader)(nil)
)

// Compressed implements v1.Layer, counting what is read.
func (l *trackedLayer) Compressed() (io.ReadCloser, error) {
	var rc io.ReadCloser
	var err error
	if l.raw != nil {
		rc, err = l.raw.open(l.digest, l.size)
	} else {
		rc, err = l.Layer.Compressed()
	}
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.attempt != nil {
		l.t.bytesDone.Add(-l.attempt.Load())
	}
	l.attempt = &atomic.Int64{}
	l.reads++
	return &countingReader{rc: rc, t: l.t, attempt: l.attempt}, nil
}

// Descriptor keeps the descriptor of the source manifest (URLs, annotations).
func (l *trackedLayer) Descriptor() (*v1.Descriptor, error) { return partial.Descriptor(l.Layer) }

// Exists passes go-containerregistry's existence hint on.
func (l *trackedLayer) Exists() (bool, error) { return partial.Exists(l.Layer) }

// uploaded reports whether the blob was read for an upload, as opposed to being mounted
// or found present.
func (l *trackedLayer) uploaded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads > 0
}

// done records the blob as finished: its bytes count in full, whatever was read.
func (l *trackedLayer) done(size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.attempt != nil {
		l.t.bytesDone.Add(-l.attempt.Load())
		l.attempt = nil
	}
	l.t.bytesDone.Add(size)
	if l.isLayer {
		l.t.layersDone.Add(1)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	rc      io.ReadCloser
	t       *tracker
	attempt *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.attempt.Add(int64(n))
		r.t.bytesDone.Add(int64(n))
		r.t.bytesSent.Add(int64(n))
	}
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }

// reporter writes progress lines for a copy that runs longer than its delay.
type reporter struct {
	w        io.Writer
	t        *tracker
	what     string // "SRC to DST"
	start    time.Time
	delay    time.Duration
	interval time.Duration

	stop chan struct{}
	done chan struct{}
	// printed is written by run only, and read after done is closed.
	printed bool
}

// startReporter starts writing progress of t to w after delay, then every interval. A nil
// w gives a reporter that writes nothing.
func startReporter(w io.Writer, t *tracker, what string, delay, interval time.Duration) *reporter {
	r := &reporter{w: w, t: t, what: what, start: time.Now(), delay: delay, interval: interval,
		stop: make(chan struct{}), done: make(chan struct{})}
	if w == nil {
		close(r.done)
		return r
	}
	go r.run()
	return r
}

func (r *reporter) run() {
	defer close(r.done)
	timer := time.NewTimer(r.delay)
	defer timer.Stop()
	lastAt, lastBytes := r.start, int64(0)
	for {
		select {
		case <-r.stop:
			return
		case now := <-timer.C:
			done := r.t.bytesDone.Load()
			rate := float64(done-lastBytes) / now.Sub(lastAt).Seconds()
			lastAt, lastBytes = now, done
			fmt.Fprintf(r.w, "copying %s: %d/%d layers, %s of %s, %s/s\n", r.what,
				r.t.layersDone.Load(), r.t.layers, humanBytes(done), humanBytes(r.t.bytes), humanBytes(int64(max(rate, 0))))
			r.printed = true
			timer.Reset(r.interval)
		}
	}
}

// finish stops the reporter; when it had shown progress and the copy succeeded, it writes
// a last line with the totals.
func (r *reporter) finish(ok bool) {
	if r.w == nil {
		return
	}
	close(r.stop)
	<-r.done
	if !r.printed || !ok {
		return
	}
	elapsed := time.Since(r.start)
	fmt.Fprintf(r.w, "copied %s: %d/%d layers, %s in %s, %s/s\n", r.what,
		r.t.layersDone.Load(), r.t.layers, humanBytes(r.t.bytes), elapsed.Round(100*time.Millisecond),
		humanBytes(int64(float64(r.t.bytes)/elapsed.Seconds())))
}

// humanBytes formats n bytes with a binary unit and one decimal.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}
