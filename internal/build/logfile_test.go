package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "build/team-a/app-7", want: Ref{KindBuild, "team-a", "app-7"}},
		{in: "PipelineRun/ci/build-x9z", want: Ref{KindPipelineRun, "ci", "build-x9z"}},
		{in: "taskrun/ci/buildah.run-1", want: Ref{KindTaskRun, "ci", "buildah.run-1"}},
		{in: "build/team-a", wantErr: "kind/namespace/name"},
		{in: "deployment/team-a/x", wantErr: "is not one of"},
		{in: "build/Team_A/x", wantErr: "namespace"},
		{in: "build/a/", wantErr: "name"},
		{in: "build/a/b/c", wantErr: "kind/namespace/name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef = %+v, %v; want %+v", got, err, tt.want)
			}
			if round, _ := ParseRef(got.String()); round != got {
				t.Errorf("String() does not round-trip: %s", got)
			}
		})
	}
}

func userParamsCases() []struct{ in, want, wantErr string } {
	return []struct{ in, want, wantErr string }{
		{in: `{"base_image": "registry.fedoraproject.org/fedora:41", "component": "app"}`, want: "registry.fedoraproject.org/fedora:41"},
		{in: `{"component": "app"}`, want: ""},
		{in: `{"base_image": " quay.io/a/b:1 "}`, want: "quay.io/a/b:1"},
		{in: `{"base_image": 3}`, wantErr: "not a string"},
		{in: `not json`, wantErr: "not JSON"},
		{in: `{"base_image": null}`, want: ""},
	}
}

func TestParseUserParams(t *testing.T) {
	for _, tt := range userParamsCases() {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUserParams(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUserParams = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzParseUserParams(f *testing.F) {
	for _, c := range userParamsCases() {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseUserParams(s)
	})
}

func baseImageLogCases() []struct{ name, log, want string } {
	return []struct{ name, log, want string }{
		{"buildah", "STEP 1/9: FROM registry.access.redhat.com/ubi9/python-311:latest\nSTEP 2/9: USER 0\n", "registry.access.redhat.com/ubi9/python-311:latest"},
		{"podman old style", "STEP 1: FROM quay.io/a/b@sha256:" + strings.Repeat("a", 64) + "\n", "quay.io/a/b@sha256:" + strings.Repeat("a", 64)},
		{"docker", "Step 1/5 : FROM python:3.11-slim\n ---> 1b2c\n", "python:3.11-slim"},
		{"multi-stage: last stage", "[1/2] STEP 1/3: FROM golang:1.22 AS builder\n[2/2] STEP 1/2: FROM registry.access.redhat.com/ubi9/ubi-minimal:9.5\n", "registry.access.redhat.com/ubi9/ubi-minimal:9.5"},
		{"last stage from an earlier stage", "FROM python:3.11 AS base\nFROM base AS test\nFROM base\n", "python:3.11"},
		{"platform flag", "STEP 1/2: FROM --platform=linux/amd64 quay.io/a/b:1\n", "quay.io/a/b:1"},
		{"scratch", "STEP 1/2: FROM scratch\n", ""},
		{"image ID", "Step 0 : FROM " + strings.Repeat("d7", 32) + "\n ---> d7d7d7d7d7d7\n", ""},
		{"unexpanded ARG", "STEP 1/2: FROM ${BASE}\n", ""},
		{"kaniko", "INFO[0001] Retrieving image manifest python:3.11\nINFO[0001] Retrieving image python:3.11 from registry index.docker.io\n", "python:3.11"},
		{"s2i builder line", "---> Using builder image quay.io/thoth-station/s2i-thoth-ubi9-py311:v0.35.1\n", "quay.io/thoth-station/s2i-thoth-ubi9-py311:v0.35.1"},
		{"timestamps from the log API", "2026-11-22T09:30:11.123456789Z STEP 1/3: FROM quay.io/a/b:2\n", "quay.io/a/b:2"},
		{"no newline at the end", "STEP 1/1: FROM quay.io/a/b:3", "quay.io/a/b:3"},
		{"nothing", "Cloning ...\nbuilding\n", ""},
		{"prose mentioning from", "Copying blob from cache\n", ""},
	}
}

func TestBaseImageFromLog(t *testing.T) {
	for _, tt := range baseImageLogCases() {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 7, len(tt.log) + 1} { // any split of the stream
				var s lineScanner
				for i := 0; i < len(tt.log); i += chunk {
					s.Write([]byte(tt.log[i:min(i+chunk, len(tt.log))]))
				}
				s.Flush()
				if got := s.BaseImage(); got != tt.want {
					t.Errorf("chunks of %d: BaseImage() = %q, want %q", chunk, got, tt.want)
				}
			}
		})
	}
}

func FuzzBaseImageFromLog(f *testing.F) {
	for _, c := range baseImageLogCases() {
		f.Add(c.log)
	}
	f.Fuzz(func(t *testing.T, log string) {
		var s lineScanner
		s.Write([]byte(log))
		s.Flush()
		if got := s.BaseImage(); strings.ContainsAny(got, " \n\t") {
			t.Fatalf("base image %q holds white space", got)
		}
	})
}

func TestFailureSummary(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name, tail string
		want       []string
		notWant    []string
	}{
		{name: "pip", tail: pipFailureLog, want: []string{"ERROR: No matching distribution found", "exit status 1"}, notWant: []string{"Collecting"}},
		{name: "no error lines: the last ones", tail: "a\nb\nc\n", want: []string{"a\nb\nc"}},
		{name: "long lines are cut", tail: "error: " + long + "\n", want: []string{"error: xxx"}},
		{name: "many errors stay under the cap", tail: strings.Repeat("error: something broke here\n", 500), want: []string{"error: something broke here"}},
		{name: "invalid UTF-8", tail: "error: \xff\xfe bad\n", want: []string{"error:"}},
		{name: "empty", tail: "", want: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FailureSummary([]byte(tt.tail))
			if len(got) > MaxFailureSummary || !utf8.ValidString(got) {
				t.Fatalf("summary of %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary %q lacks %q", got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("summary %q holds %q", got, w)
				}
			}
		})
	}
}

func TestLogFileTail(t *testing.T) {
	for _, size := range []int{0, 10, tailBytes - 1, tailBytes, tailBytes + 1, 3*tailBytes + 17, copyChunk, copyDepth*copyChunk + 3*tailBytes + 1} {
		data := bytes.Repeat([]byte("0123456789abcdef\n"), size/17+1)[:size]
		for _, chunk := range []int{1000, 4096, tailBytes + 5} {
			l, err := createLog(filepath.Join(t.TempDir(), "log"), true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.copyFrom(&chunked{data: data, n: chunk}); err != nil {
				t.Fatal(err)
			}
			info, err := l.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := data[max(0, len(data)-tailBytes):]
			if got := l.Tail(); !bytes.Equal(got, want) {
				t.Errorf("size %d chunk %d: tail of %d bytes differs (want %d)", size, chunk, len(got), len(want))
			}
			written, _ := os.ReadFile(info.Path)
			sum := sha256.Sum256(data)
			if !bytes.Equal(written, data) || info.Bytes != int64(size) || info.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("size %d: file %d bytes, info %+v", size, len(written), info)
			}
		}
	}
}

// TestLogFileReadError: a stream that breaks keeps every byte read before the break, in the
// file and in the digest, and the error is returned.
func TestLogFileReadError(t *testing.T) {
	broken := errors.New("connection reset by peer")
	for _, size := range []int{0, 100, copyChunk + 1, 3*copyChunk + 7} {
		data := bytes.Repeat([]byte("STEP 1/2: FROM quay.io/x/y:1\nerror: z\n"), size/38+1)[:size]
		l, err := createLog(filepath.Join(t.TempDir(), "log"), true)
		if err != nil {
			t.Fatal(err)
		}
		n, err := l.copyFrom(io.MultiReader(&chunked{data: data, n: 5000}, iotest.ErrReader(broken)))
		if !errors.Is(err, broken) || n != int64(size) {
			t.Errorf("size %d: copied %d, err %v; want all bytes and the read error", size, n, err)
		}
		info, err := l.Close()
		if err != nil {
			t.Fatal(err)
		}
		written, _ := os.ReadFile(info.Path)
		sum := sha256.Sum256(data)
		if !bytes.Equal(written, data) || info.Bytes != int64(size) || info.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("size %d: file %d bytes, info %+v", size, len(written), info)
		}
	}
}

// chunked reads data n bytes at a time.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}

// TestLogFileWriteError: a file that cannot be written ends the copy with an error naming it.
func TestLogFileWriteError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	l, err := createLog("/dev/full", true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.copyFrom(&chunked{data: make([]byte, 3*copyChunk), n: 4096})
	if err == nil || !strings.Contains(err.Error(), "writing the log file /dev/full") {
		t.Errorf("err = %v, want it to name the log file", err)
	}
	l.Close()
}
