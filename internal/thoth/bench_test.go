package thoth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/thoth-station/build-watcher/internal/thoth"
	"github.com/thoth-station/build-watcher/internal/thoth/logbudget/logbudgettest"
	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
)

// benchmarkSubmitLog submits one build with a generated log of size bytes through the whole
// client (streaming, cutting, body assembly, HTTP) and reports the client's peak heap. The
// server discards the body, so the figure is the client's alone.
func benchmarkSubmitLog(b *testing.B, size int64) {
	received := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		select {
		case received <- n:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"base_image_analysis":null,"output_image_analysis":null,"buildlog_analysis":{"analysis_id":"buildlog-parser-261122093011-0123456789abcdef","cached":false},"buildlog_document_id":"buildlog-x"}`)
	}))
	b.Cleanup(srv.Close)
	c, err := thoth.New(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	log := logbudgettest.NewGenerated(size)
	b.SetBytes(size)
	b.ReportAllocs()
	runtime.GC()
	h := logbudgettest.StartHeapSampler()
	var body int
	for b.Loop() {
		log.Rewind()
		sub, err := c.SubmitBuild(b.Context(), thoth.BuildAnalysisRequest{OutputImage: "quay.io/team/app:1", BuildLog: log})
		if err != nil {
			b.Fatal(err)
		}
		body = sub.BodyBytes
	}
	b.ReportMetric(h.PeakMiB(), "peak-heap-MiB")
	b.ReportMetric(float64(body)/(1<<20), "body-MiB")
	if n := <-received; n > thoth.DefaultMaxBodyBytes {
		b.Fatalf("server received %d bytes, over the limit of %d", n, thoth.DefaultMaxBodyBytes)
	}
}

func BenchmarkSubmitBuildLog1GiB(b *testing.B) { benchmarkSubmitLog(b, 1<<30) }

func BenchmarkSubmitBuildLog10MiB(b *testing.B) { benchmarkSubmitLog(b, 10<<20) }

// BenchmarkStandInValidation is the cost of one validated submission with a small log on
// the stand-in (request validation against the OpenAPI document included).
func BenchmarkStandInValidation(b *testing.B) {
	srv := thothtest.NewTestServer(b, thothtest.Options{})
	c, err := thoth.New(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		log := logbudgettest.NewGenerated(64 << 10)
		if _, err := c.SubmitBuild(b.Context(), thoth.BuildAnalysisRequest{BaseImage: "quay.io/team/base:1", BuildLog: log}); err != nil {
			b.Fatal(err)
		}
	}
}
