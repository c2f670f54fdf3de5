package logbudget

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/thoth-station/build-watcher/internal/thoth/logbudget/logbudgettest"
)

// apiBudget is the budget the submit code uses: the API's 3 MiB body limit less room for the
// other fields.
const apiBudget = 3<<20 - 4<<10

// markerRE returns a pattern for the marker line in decoded output, written independently of
// the marker helper.
func markerRE() *regexp.Regexp {
	return regexp.MustCompile(`\n\[\.\.\. build-watcher: (\d+) bytes cut from the middle of this log \((\d+) bytes in all\) \.\.\.\]\n`)
}

// refDecode is what the decoded JSON string of a log kept whole must be: every byte that is not
// part of valid UTF-8 replaced by U+FFFD.
func refDecode(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b) {
		sb.WriteRune(r)
	}
	return sb.String()
}

// decode checks that js is a valid JSON string literal within budget and returns its value.
func decode(t testing.TB, js []byte, budget int) string {
	t.Helper()
	if len(js) > budget {
		t.Fatalf("len(JSON) = %d, over budget %d", len(js), budget)
	}
	if !json.Valid(js) {
		t.Fatalf("invalid JSON: %.200q", js)
	}
	var s string
	if err := json.Unmarshal(js, &s); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if !utf8.ValidString(s) {
		t.Fatalf("decoded string is not valid UTF-8")
	}
	if bytes.ContainsAny(js, "\u2028\u2029") {
		t.Fatalf("JSON holds a raw U+2028 or U+2029")
	}
	return s
}

// verify checks enc against the log data it was made from, with every check that holds for any
// input, and returns the decoded head and tail (the whole log in head when nothing was cut).
func verify(t testing.TB, data []byte, budget int, enc *Encoded) (head, tail string) {
	t.Helper()
	s := decode(t, enc.JSON, budget)
	if enc.TotalBytes != int64(len(data)) {
		t.Fatalf("TotalBytes = %d, want %d", enc.TotalBytes, len(data))
	}
	ref := refDecode(data)
	if EncodedLen(data)+2 <= budget {
		if enc.CutBytes != 0 {
			t.Fatalf("CutBytes = %d for a log that fits", enc.CutBytes)
		}
		if s != ref {
			t.Fatalf("decoded %.200q, want %.200q", s, ref)
		}
		if utf8.Valid(data) && s != string(data) {
			t.Fatalf("valid UTF-8 log did not round-trip")
		}
		return s, ""
	}
	if enc.CutBytes <= 0 || enc.CutBytes > enc.TotalBytes {
		t.Fatalf("CutBytes = %d of %d for a log that does not fit", enc.CutBytes, enc.TotalBytes)
	}
	// The log itself may hold marker text, so accept any occurrence that splits s right.
	m := string(marker(enc.CutBytes, enc.TotalBytes))
	for off := 0; ; {
		i := strings.Index(s[off:], m)
		if i < 0 {
			t.Fatalf("no marker %q splitting the output into a head and a tail of the log: %.300q", m, s)
		}
		i += off
		head, tail = s[:i], s[i+len(m):]
		if strings.HasPrefix(ref, head) && strings.HasSuffix(ref, tail) && len(head)+len(tail) < len(ref) {
			break
		}
		off = i + 1
	}
	if utf8.Valid(data) {
		if kept := int64(len(head) + len(tail)); enc.CutBytes != enc.TotalBytes-kept {
			t.Fatalf("CutBytes = %d, want %d - %d kept", enc.CutBytes, enc.TotalBytes, kept)
		}
	}
	return head, tail
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		budget   int
		wantJSON string // checked when not empty
		wantCut  bool
	}{
		{name: "empty", in: nil, budget: MinBudget, wantJSON: `""`},
		{name: "small", in: []byte("step 1/3: ok\nstep 2/3: ok\n"), budget: MinBudget, wantJSON: `"step 1/3: ok\nstep 2/3: ok\n"`},
		{
			name:     "escapes",
			in:       []byte("q\"b\\n\nr\rt\tnul\x00us\x1fdel\x7fls\u2028ps\u2029<>&é€😀"),
			budget:   MinBudget,
			wantJSON: `"q\"b\\n\nr\rt\tnul\u0000us\u001fdel\u007fls\u2028ps\u2029<>&é€😀"`,
		},
		{name: "invalid UTF-8", in: []byte("a\xffb\xc3(\xe2\x82\xed\xa0\x80z"), budget: MinBudget, wantJSON: "\"a\uFFFDb\uFFFD(\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDz\""},
		{name: "truncated rune at end", in: []byte("ok \xe2\x82"), budget: MinBudget, wantJSON: "\"ok \uFFFD\uFFFD\""},
		{name: "valid U+FFFD passes", in: []byte("x\uFFFDy"), budget: MinBudget, wantJSON: "\"x\uFFFDy\""},
		{name: "exactly at budget", in: bytes.Repeat([]byte("a"), MinBudget-2), budget: MinBudget},
		{name: "one byte over budget", in: bytes.Repeat([]byte("a"), MinBudget-1), budget: MinBudget, wantCut: true},
		{name: "control chars at budget", in: bytes.Repeat([]byte{1}, (MinBudget-2)/6), budget: MinBudget},
		{name: "control chars over budget", in: bytes.Repeat([]byte{1}, (MinBudget-2)/6+1), budget: MinBudget, wantCut: true},
		{name: "invalid bytes over budget", in: bytes.Repeat([]byte{0xff}, (MinBudget-2)/3+1), budget: MinBudget, wantCut: true},
		{name: "large budget small log", in: []byte("done\n"), budget: apiBudget, wantJSON: `"done\n"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encode(bytes.NewReader(tt.in), tt.budget)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if tt.wantJSON != "" && string(enc.JSON) != tt.wantJSON {
				t.Errorf("JSON = %s, want %s", enc.JSON, tt.wantJSON)
			}
			if got := enc.CutBytes > 0; got != tt.wantCut {
				t.Errorf("cut = %v (CutBytes %d), want %v", got, enc.CutBytes, tt.wantCut)
			}
			if !tt.wantCut && len(enc.JSON) != EncodedLen(tt.in)+2 {
				t.Errorf("len(JSON) = %d, want EncodedLen+2 = %d", len(enc.JSON), EncodedLen(tt.in)+2)
			}
			verify(t, tt.in, tt.budget, enc)
		})
	}
}

func TestEncodedLen(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{name: "empty", in: "", want: 0},
		{name: "plain", in: "abc <>&", want: 7},
		{name: "two-char escapes", in: "\"\\\n\r\t", want: 10},
		{name: "unicode escapes", in: "\x00\x08\x0c\x1f\x7f", want: 30},
		{name: "multi-byte", in: "é€😀", want: 2 + 3 + 4},
		{name: "line and paragraph separators", in: "\u2028\u2029", want: 12},
		{name: "invalid bytes", in: "\xff\xc3\xe2\x82", want: 12},
		{name: "surrogate encoding", in: "\xed\xa0\x80", want: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EncodedLen([]byte(tt.in)); got != tt.want {
				t.Errorf("EncodedLen(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if got := len(appendEscaped(nil, []byte(tt.in))); got != tt.want {
				t.Errorf("len(appendEscaped(%q)) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		r       io.Reader
		budget  int
		wantIs  error  // checked when not nil
		wantMsg string // substring of the error
	}{
		{name: "budget zero", r: strings.NewReader("x"), budget: 0, wantMsg: "minimum of 1024"},
		{name: "budget below minimum", r: strings.NewReader("x"), budget: MinBudget - 1, wantMsg: "minimum of 1024"},
		{name: "negative budget", r: strings.NewReader("x"), budget: -5, wantMsg: "minimum of 1024"},
		{
			name:    "fails mid-way",
			r:       io.MultiReader(strings.NewReader("first part\n"), iotest.ErrReader(errBoom)),
			budget:  MinBudget,
			wantIs:  errBoom,
			wantMsg: "reading build log: boom",
		},
		{
			name:    "fails after the ring wraps",
			r:       io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("line\n"), 10_000)), iotest.ErrReader(errBoom)),
			budget:  MinBudget,
			wantIs:  errBoom,
			wantMsg: "reading build log: boom",
		},
		{
			name:    "fails with data",
			r:       &dataErrReader{data: []byte("partial"), err: errBoom},
			budget:  MinBudget,
			wantIs:  errBoom,
			wantMsg: "reading build log: boom",
		},
		{
			name:    "no progress",
			r:       &dataErrReader{},
			budget:  MinBudget,
			wantIs:  io.ErrNoProgress,
			wantMsg: "reading build log: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encode(tt.r, tt.budget)
			if err == nil {
				t.Fatalf("Encode = %s, want an error", enc.JSON)
			}
			if enc != nil {
				t.Errorf("Encode returned %+v with error", enc)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

// dataErrReader returns data and err from the same Read, then (0, nil) forever.
type dataErrReader struct {
	data []byte
	err  error
}

func (r *dataErrReader) Read(p []byte) (int, error) {
	if r.data == nil && r.err == nil {
		return 0, nil
	}
	n := copy(p, r.data)
	err := r.err
	r.data, r.err = nil, nil
	return n, err
}

// numberedLines returns n short lines with a distinctive first and last line.
func numberedLines(n int) []byte {
	var b bytes.Buffer
	b.WriteString("FIRST LINE of the log\n")
	for i := range n {
		fmt.Fprintf(&b, "line %06d: compiling module %d\n", i, i*7)
	}
	b.WriteString("LAST LINE: error: build failed\n")
	return b.Bytes()
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestEncodeCut(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		budget    int
		lineCut   bool   // head ends and tail starts at a line boundary
		wantStart string // decoded output starts with it
		wantEnd   string // decoded output ends with it
	}{
		{name: "short lines", in: numberedLines(2000), budget: 4096, lineCut: true, wantStart: "FIRST LINE of the log\n", wantEnd: "LAST LINE: error: build failed\n"},
		{name: "short lines minimum budget", in: numberedLines(2000), budget: MinBudget, lineCut: true, wantStart: "FIRST LINE of the log\n", wantEnd: "LAST LINE: error: build failed\n"},
		{
			name:      "escaped lines, ring not wrapped",
			in:        []byte("FIRST\n" + strings.Repeat("\"quoted\"\tline\\\n", 100) + "LAST\n"),
			budget:    1600,
			lineCut:   true,
			wantStart: "FIRST\n",
			wantEnd:   "\nLAST\n",
		},
		{name: "one long line", in: []byte("START" + strings.Repeat("abcdefghij", 10_000) + "END"), budget: 2048, wantStart: "STARTabc", wantEnd: "hijEND"},
		{name: "multi-byte runes without newlines", in: []byte(strings.Repeat("日本語😀é", 5_000)), budget: 2000, wantStart: "日本語😀é", wantEnd: "日本語😀é"},
		{name: "control chars", in: bytes.Repeat([]byte{1, 2, '\n', '"'}, 5_000), budget: 1500},
		{name: "invalid bytes", in: bytes.Repeat([]byte{0xff}, 10_000), budget: 1500},
		{name: "continuation bytes", in: bytes.Repeat([]byte{0x80}, 10_000), budget: 1500},
		{name: "lead and continuation bytes", in: bytes.Repeat([]byte{0xf0, 0x9f, 0x98, 0x80, 0x80, 0xe2}, 3_000), budget: 1501},
		{name: "escapes make a short log too long", in: bytes.Repeat([]byte(`"\`), 400), budget: MinBudget, wantStart: `"\`, wantEnd: `"\`},
		{name: "random bytes", in: randomBytes(100_000, 1), budget: 5000},
		{name: "random bytes minimum budget", in: randomBytes(3_000, 2), budget: MinBudget},
	}
	// Shift 4-byte runes against the cut points so that they fall on each byte of a rune in
	// turn: the head must still end, and the tail start, on a rune boundary.
	for shift := range utf8.UTFMax {
		tests = append(tests, struct {
			name      string
			in        []byte
			budget    int
			lineCut   bool
			wantStart string
			wantEnd   string
		}{
			name:      fmt.Sprintf("4-byte runes shifted by %d", shift),
			in:        []byte(strings.Repeat("x", shift) + strings.Repeat("😀", 1_000) + strings.Repeat("y", shift)),
			budget:    MinBudget,
			wantStart: strings.Repeat("x", shift) + "😀",
			wantEnd:   "😀" + strings.Repeat("y", shift),
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encode(bytes.NewReader(tt.in), tt.budget)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if enc.CutBytes == 0 {
				t.Fatalf("nothing cut from %d bytes with budget %d", len(tt.in), tt.budget)
			}
			head, tail := verify(t, tt.in, tt.budget, enc)
			s := head + string(marker(enc.CutBytes, enc.TotalBytes)) + tail
			if !strings.HasPrefix(s, tt.wantStart) || !strings.HasSuffix(s, tt.wantEnd) {
				t.Errorf("output %.80q...%.80q does not start with %q and end with %q", head, tail, tt.wantStart, tt.wantEnd)
			}
			if ms := markerRE().FindAllStringSubmatch(s, -1); len(ms) != 1 || ms[0][1] != strconv.FormatInt(enc.CutBytes, 10) || ms[0][2] != strconv.Itoa(len(tt.in)) {
				t.Errorf("markers %q, want one with %d of %d bytes", ms, enc.CutBytes, len(tt.in))
			}
			if len(tail) < len(head) {
				t.Errorf("tail (%d bytes) shorter than head (%d bytes)", len(tail), len(head))
			}
			if tt.lineCut {
				ref := refDecode(tt.in)
				if !strings.HasSuffix(head, "\n") || ref[len(ref)-len(tail)-1] != '\n' {
					t.Errorf("not cut at newlines: head ends %q, tail starts %q", head[max(0, len(head)-40):], tail[:min(40, len(tail))])
				}
			}
			// Half the budget must be used at least: the cut is not wasteful.
			if len(enc.JSON) < tt.budget/2 {
				t.Errorf("len(JSON) = %d, less than half of budget %d", len(enc.JSON), tt.budget)
			}
		})
	}
}

// chunkyReader returns reads of random sizes between 1 and 3 MiB.
type chunkyReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	n := 1 + c.rng.IntN(3<<20)
	return c.r.Read(p[:min(len(p), n)])
}

// TestEncodeReaders checks that the result does not depend on how the reader splits the log.
func TestEncodeReaders(t *testing.T) {
	inputs := []struct {
		name   string
		in     []byte
		budget int
	}{
		{name: "fits", in: numberedLines(20), budget: MinBudget * 2},
		{name: "exactly content", in: bytes.Repeat([]byte("x"), 4094), budget: 4096},
		{name: "wraps", in: numberedLines(3000), budget: 4096},
		{name: "random wraps", in: randomBytes(50_000, 3), budget: 3000},
		{name: "grows then wraps", in: randomBytes(400_000, 4), budget: 150_000},
	}
	wrappers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{name: "one byte", wrap: iotest.OneByteReader},
		{name: "half", wrap: iotest.HalfReader},
		{name: "data with EOF", wrap: iotest.DataErrReader},
		{name: "chunky", wrap: func(r io.Reader) io.Reader { return &chunkyReader{r: r, rng: rand.New(rand.NewPCG(5, 6))} }},
	}
	for _, in := range inputs {
		want, err := Encode(bytes.NewReader(in.in), in.budget)
		if err != nil {
			t.Fatalf("%s: Encode: %v", in.name, err)
		}
		verify(t, in.in, in.budget, want)
		for _, w := range wrappers {
			t.Run(in.name+"/"+w.name, func(t *testing.T) {
				got, err := Encode(w.wrap(bytes.NewReader(in.in)), in.budget)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if !bytes.Equal(got.JSON, want.JSON) || got.CutBytes != want.CutBytes || got.TotalBytes != want.TotalBytes {
					t.Errorf("got %d/%d bytes cut, JSON %.100q; want %d/%d, %.100q",
						got.CutBytes, got.TotalBytes, got.JSON, want.CutBytes, want.TotalBytes, want.JSON)
				}
			})
		}
	}
}

func TestGenLog(t *testing.T) {
	const size = 3_000_000
	data, err := io.ReadAll(iotest.HalfReader(logbudgettest.NewGenerated(size)))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != size || !bytes.HasPrefix(data, []byte(logbudgettest.FirstLine)) || !bytes.HasSuffix(data, []byte("\n"+logbudgettest.LastLine)) {
		t.Fatalf("generated %d bytes, %.60q ... %.60q", len(data), data, data[len(data)-60:])
	}
}

func TestEncodeGenerated(t *testing.T) {
	gib := int64(1 << 30)
	if testing.Short() {
		gib = 256 << 20
	}
	tests := []struct {
		name string
		size int64
	}{
		{name: "10 MiB", size: 10 << 20},
		{name: "1 GiB", size: gib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := logbudgettest.NewGenerated(tt.size)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			enc, err := Encode(g, apiBudget)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			// O(budget): the window grows by doubling to the budget, plus head and output.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6*apiBudget {
				t.Errorf("Encode allocated %d bytes, more than 6 x budget", alloc)
			}
			if enc.TotalBytes != tt.size {
				t.Errorf("TotalBytes = %d, want %d", enc.TotalBytes, tt.size)
			}
			if len(enc.JSON) < apiBudget-2*maxLineSnap-200 {
				t.Errorf("len(JSON) = %d, wasting much of budget %d", len(enc.JSON), apiBudget)
			}
			s := decode(t, enc.JSON, apiBudget)
			ms := markerRE().FindAllStringSubmatchIndex(s, -1)
			if len(ms) != 1 {
				t.Fatalf("found %d markers, want 1", len(ms))
			}
			m := ms[0]
			head, tail := s[:m[0]], s[m[1]:]
			if got, want := s[m[2]:m[3]], strconv.FormatInt(enc.CutBytes, 10); got != want {
				t.Errorf("marker says %s bytes cut, CutBytes = %s", got, want)
			}
			if got, want := s[m[4]:m[5]], strconv.FormatInt(tt.size, 10); got != want {
				t.Errorf("marker says %s bytes in all, want %s", got, want)
			}
			if kept := int64(len(head) + len(tail)); enc.CutBytes != tt.size-kept {
				t.Errorf("CutBytes = %d, want %d - %d kept", enc.CutBytes, tt.size, kept)
			}
			if !strings.HasPrefix(head, logbudgettest.FirstLine) || !strings.HasSuffix(head, "\n") {
				t.Errorf("head %.60q...%q does not start with the first line and end with a newline", head, head[len(head)-40:])
			}
			if !strings.HasSuffix(tail, "\n"+logbudgettest.LastLine) || !strings.HasPrefix(tail, "line ") {
				t.Errorf("tail %.60q...%q does not start with a whole line and end with the last line", tail, tail[len(tail)-40:])
			}
			if len(tail) < len(head) {
				t.Errorf("tail (%d bytes) shorter than head (%d bytes)", len(tail), len(head))
			}
		})
	}
}

func FuzzEncode(f *testing.F) {
	const maxBudget = 64 << 10
	// Seeds: the table cases, long runs given as a short unit and a repeat count.
	seeds := []struct {
		unit []byte
		rep  uint16
	}{
		{unit: nil},
		{unit: []byte("step 1/3: ok\nstep 2/3: ok\n")},
		{unit: []byte("q\"b\\n\nr\rt\tnul\x00us\x1fdel\x7fls\u2028ps\u2029<>&é€😀")},
		{unit: []byte("a\xffb\xc3(\xe2\x82\xed\xa0\x80z")},
		{unit: []byte("ok \xe2\x82")},
		{unit: []byte("x\uFFFDy")},
		{unit: []byte("a"), rep: MinBudget - 3},
		{unit: []byte("a"), rep: MinBudget - 2},
		{unit: []byte{1}, rep: (MinBudget - 2) / 6},
		{unit: []byte{0xff}, rep: (MinBudget - 2) / 3},
		{unit: []byte("line 000001: compiling module 7\n"), rep: 200},
		{unit: []byte("日本語😀é"), rep: 300},
		{unit: []byte{0xf0, 0x9f, 0x98, 0x80, 0x80, 0xe2}, rep: 300},
		{unit: []byte(`"\`), rep: 400},
		{unit: []byte("\x01\"\xe2\x82\xac\xf0\x9f\x98"), rep: 1000},
	}
	for _, s := range seeds {
		f.Add(s.unit, uint16(0), s.rep)
		f.Add(s.unit, uint16(2000), s.rep)
	}
	// The log is unit repeated 1+rep times, but not much past twice the budget, which is
	// enough to cut: with rep == 0 it is any byte string, and short units, which the fuzzer
	// mutates and minimizes fast, still reach the cutting code.
	f.Fuzz(func(t *testing.T, unit []byte, b, rep uint16) {
		budget := min(max(int(b), MinBudget), maxBudget)
		data := bytes.Repeat(unit, min(1+int(rep), max(1, 2*budget/max(1, len(unit)))))
		enc, err := Encode(bytes.NewReader(data), budget)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		verify(t, data, budget, enc)
		// Short reads of a size the fuzzer picks (but no more than 4096 of them, to keep
		// executions fast) must not change the result.
		step := max(1+int(b%61), len(data)/4096)
		again, err := Encode(&stepReader{r: bytes.NewReader(data), step: step}, budget)
		if err != nil {
			t.Fatalf("Encode %d bytes at a time: %v", step, err)
		}
		if !bytes.Equal(again.JSON, enc.JSON) || again.CutBytes != enc.CutBytes {
			t.Fatalf("reading %d bytes at a time gave %q, want %q", step, again.JSON, enc.JSON)
		}
	})
}

// stepReader reads at most step bytes at a time.
type stepReader struct {
	r    io.Reader
	step int
}

func (s *stepReader) Read(p []byte) (int, error) {
	return s.r.Read(p[:min(len(p), s.step)])
}

func benchmarkEncode(b *testing.B, size int64) {
	g := logbudgettest.NewGenerated(size) // the pattern is built once, outside the measured loop
	b.ReportAllocs()
	b.SetBytes(size)
	runtime.GC()
	h := logbudgettest.StartHeapSampler()
	for b.Loop() {
		g.Rewind()
		enc, err := Encode(g, apiBudget)
		if err != nil {
			b.Fatal(err)
		}
		if enc.TotalBytes != size || len(enc.JSON) > apiBudget {
			b.Fatalf("TotalBytes %d, len(JSON) %d", enc.TotalBytes, len(enc.JSON))
		}
	}
	b.ReportMetric(h.PeakMiB(), "peak-heap-MiB")
}

func BenchmarkEncode1GiB(b *testing.B) { benchmarkEncode(b, 1<<30) }

func BenchmarkEncode10MiB(b *testing.B) { benchmarkEncode(b, 10<<20) }
