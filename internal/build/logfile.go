package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"regexp"
	"strings"
)

// tailBytes is how much of a log's end is kept for the failure summary.
const tailBytes = 64 << 10

// MaxFailureSummary bounds the failure-summary result.
const MaxFailureSummary = 1000

// maxScanLine is the longest line the base-image scanner looks at; longer lines are cut.
const maxScanLine = 8 << 10

// logFile streams a build log into a file, counting, hashing, keeping the tail and scanning
// lines for the base image as the bytes pass. Memory is bounded whatever the log's size.
type logFile struct {
	path string
	f    *os.File
	n    int64
	// bufs are copyFrom's chunk buffers, made on first use.
	bufs [][]byte
	// What the bytes are digested into; while copyFrom runs, only its digest goroutine
	// touches these.
	hash hash.Hash
	tail []byte // ring of the last tailBytes
	tpos int
	full bool
	// lines looks for the base image; nil when the build object named it.
	lines *lineScanner
}

// copyChunk is the most copyFrom reads and writes at once, as io.Copy does; copyDepth how
// many chunks may wait between the writer and the digest. Measured on 2 cores: larger
// chunks (64 KiB, 256 KiB read in full) made writing the file slower and erratic.
const (
	copyChunk = 32 << 10
	copyDepth = 16
)

// createLog creates (truncates) the log file at path; with path empty the log is only
// digested (tail, size and hash), not kept. With findBase its lines are scanned for the
// base image too.
func createLog(path string, findBase bool) (*logFile, error) {
	l := &logFile{path: path, hash: sha256.New(), tail: make([]byte, tailBytes)}
	if findBase {
		l.lines = &lineScanner{}
	}
	if path == "" {
		return l, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating the log file: %w; its directory must exist and be writable", err)
	}
	l.f = f
	return l, nil
}

// Write writes p to the file and digests it.
func (l *logFile) Write(p []byte) (int, error) {
	n, err := l.write(p)
	l.digest(p[:n])
	return n, err
}

// WriteString lets io.WriteString write section headers without a copy.
func (l *logFile) WriteString(s string) (int, error) { return l.Write([]byte(s)) }

// write writes p to the file, if there is one, and counts it.
func (l *logFile) write(p []byte) (int, error) {
	n, err := len(p), error(nil)
	if l.f != nil {
		n, err = l.f.Write(p)
	}
	l.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing the log file %s: %w", l.path, err)
	}
	return n, nil
}

// digest feeds the hash, the tail and the line scanner.
func (l *logFile) digest(p []byte) {
	l.hash.Write(p)
	l.keepTail(p)
	if l.lines != nil {
		l.lines.Write(p)
	}
}

func (l *logFile) keepTail(p []byte) {
	if len(p) >= len(l.tail) {
		copy(l.tail, p[len(p)-len(l.tail):])
		l.tpos, l.full = 0, true
		return
	}
	n := copy(l.tail[l.tpos:], p)
	if n < len(p) {
		copy(l.tail, p[n:])
		l.full = true
	}
	l.tpos = (l.tpos + len(p)) % len(l.tail)
	if l.tpos == 0 && len(p) > 0 {
		l.full = true
	}
}

// Tail returns the last bytes written, up to tailBytes.
func (l *logFile) Tail() []byte {
	if !l.full {
		return append([]byte(nil), l.tail[:l.tpos]...)
	}
	return append(append([]byte(nil), l.tail[l.tpos:]...), l.tail[:l.tpos]...)
}

// Close flushes the file and returns what was written.
func (l *logFile) Close() (LogInfo, error) {
	if l.lines != nil {
		l.lines.Flush()
	}
	if l.f == nil {
		return LogInfo{Bytes: l.n, SHA256: hex.EncodeToString(l.hash.Sum(nil))}, nil
	}
	if err := l.f.Close(); err != nil {
		return LogInfo{}, fmt.Errorf("closing the log file %s: %w", l.path, err)
	}
	return LogInfo{Path: l.path, Bytes: l.n, SHA256: hex.EncodeToString(l.hash.Sum(nil))}, nil
}

// copyFrom streams r into the log and returns the bytes copied. Reading and writing the
// file run in the caller's goroutine while another digests what was written (hash, tail,
// FROM lines), so that on a machine with two cores hashing and scanning a long log cost
// little time. Every byte read is written before an error is returned.
func (l *logFile) copyFrom(r io.Reader) (int64, error) {
	if l.bufs == nil {
		l.bufs = make([][]byte, copyDepth)
		for i := range l.bufs {
			l.bufs[i] = make([]byte, copyChunk)
		}
	}
	free := make(chan []byte, len(l.bufs))
	for _, b := range l.bufs {
		free <- b
	}
	written := make(chan []byte, len(l.bufs))
	digested := make(chan struct{})
	go func() {
		defer close(digested)
		for p := range written {
			l.digest(p)
			free <- p[:cap(p)]
		}
	}()
	defer func() {
		close(written)
		<-digested
	}()
	var total int64
	for {
		buf := <-free
		n, rerr := r.Read(buf)
		if n > 0 {
			m, werr := l.write(buf[:n])
			total += int64(m)
			written <- buf[:m]
			if werr != nil {
				return total, werr
			}
		} else {
			free <- buf
		}
		switch {
		case rerr == io.EOF:
			return total, nil
		case rerr != nil:
			return total, rerr
		}
	}
}

// lineScanner splits a stream into lines (cut at maxScanLine) and remembers the base image
// the build started its last stage from.
type lineScanner struct {
	partial []byte
	froms   fromTracker
}

// Write feeds bytes; complete lines are scanned at once. Blocks of whole lines in which
// no keyword occurs are skipped without splitting them, so a long log costs a few
// vectorised searches per chunk.
func (s *lineScanner) Write(p []byte) {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		s.appendPartial(p)
		return
	}
	s.appendPartial(p[:i])
	s.froms.Line(s.partial)
	s.partial = s.partial[:0]
	p = p[i+1:]
	if last := bytes.LastIndexByte(p, '\n'); last >= 0 {
		if block := p[:last]; mayName(block) {
			for _, line := range bytes.Split(block, []byte("\n")) {
				s.froms.Line(line[:min(len(line), maxScanLine)])
			}
		}
		p = p[last+1:]
	}
	s.appendPartial(p)
}

// appendPartial keeps the start of an unfinished line, up to maxScanLine bytes.
func (s *lineScanner) appendPartial(p []byte) {
	room := maxScanLine - len(s.partial)
	s.partial = append(s.partial, p[:min(len(p), max(room, 0))]...)
}

// Flush scans a last line without a newline.
func (s *lineScanner) Flush() {
	if len(s.partial) > 0 {
		s.froms.Line(s.partial)
		s.partial = s.partial[:0]
	}
}

// BaseImage is the base image of the last stage seen, "" when none or scratch.
func (s *lineScanner) BaseImage() string { return s.froms.BaseImage() }

var (
	// fromLine matches the FROM instruction as buildah, podman, docker and kaniko echo it:
	// "STEP 1/9: FROM x", "[2/2] STEP 1/4: FROM x AS y", "Step 1/9 : FROM x", "FROM x".
	fromLine = regexp.MustCompile(`(?i)^(?:\[\d+/\d+\]\s*)?(?:step\s+\d+(?:/\d+)?\s*:\s*)?FROM\s+(.+)$`)
	// kanikoLine matches kaniko's "Retrieving image x from registry y".
	kanikoLine = regexp.MustCompile(`Retrieving image (\S+) from registry`)
	// builderLine matches s2i's mention of its builder image.
	builderLine = regexp.MustCompile(`(?i)(?:using|pulling) builder image:?\s+"?([^\s"]+)`)
)

// fromTracker follows FROM lines through a multi-stage build: the last stage's base, with
// stage aliases resolved to the images they came from.
type fromTracker struct {
	aliases map[string]string
	last    string
	other   string // from kaniko or s2i lines, used when no FROM was seen
}

// mayName is a cheap test that a line can hold a base image, so that the regular
// expressions run on few lines of a long log.
func mayName(line []byte) bool {
	return bytes.Contains(line, []byte("FROM")) || bytes.Contains(line, []byte("from")) ||
		bytes.Contains(line, []byte("From")) || bytes.Contains(line, []byte("uilder image"))
}

// Line looks at one log line.
func (t *fromTracker) Line(raw []byte) {
	if !mayName(raw) {
		return
	}
	line := strings.TrimSpace(stripTimestamp(string(raw)))
	if m := fromLine.FindStringSubmatch(line); m != nil {
		image, alias := parseFrom(m[1])
		if image == "" {
			return
		}
		if t.aliases == nil {
			t.aliases = map[string]string{}
		}
		if resolved, ok := t.aliases[strings.ToLower(image)]; ok {
			image = resolved
		}
		if alias != "" {
			t.aliases[strings.ToLower(alias)] = image
		}
		t.last = image
		return
	}
	if m := kanikoLine.FindStringSubmatch(line); m != nil {
		t.other = m[1]
		return
	}
	if m := builderLine.FindStringSubmatch(line); m != nil && t.other == "" {
		t.other = m[1]
	}
}

// BaseImage is the last stage's base, "" for none, scratch or an image ID (a FROM by ID
// names an image in one daemon's store, which no registry serves).
func (t *fromTracker) BaseImage() string {
	image := t.last
	if image == "" {
		image = t.other
	}
	if strings.EqualFold(image, "scratch") || imageID.MatchString(image) {
		return ""
	}
	return image
}

// parseFrom reads the arguments of a FROM instruction in a log: the image, "" for an
// unexpanded ARG or anything that is not an image, and its "AS alias".
func parseFrom(args string) (image, alias string) {
	image, alias = fromArgs(args)
	if strings.ContainsAny(image, "$") || !looksLikeImage(image) {
		return "", ""
	}
	return image, alias
}

// looksLikeImage accepts the characters of an image reference.
func looksLikeImage(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("./:@_-", r):
		default:
			return false
		}
	}
	return s != ""
}

// timestampPrefix matches the RFC 3339 timestamps Kubernetes log APIs can prefix lines with.
var timestampPrefix = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\s`)

func stripTimestamp(line string) string { return timestampPrefix.ReplaceAllString(line, "") }

// errorLine matches lines that look like the cause of a failure.
var errorLine = regexp.MustCompile(`(?i)\b(error|errors|failed|failure|fatal|exception|traceback|cannot|could not|denied|not found|no such|exit status|exit code|killed|oomkilled|timed out)\b`)

// FailureSummary picks the last error-looking lines of a log's tail, in order, within
// MaxFailureSummary bytes; when no line looks like an error, the last lines.
func FailureSummary(tail []byte) string {
	lines := strings.Split(strings.ToValidUTF8(string(tail), "\uFFFD"), "\n")
	var picked []string
	size := 0
	add := func(line string) bool {
		line = strings.TrimSpace(stripTimestamp(line))
		if line == "" {
			return true
		}
		if len(line) > 300 {
			line = truncateUTF8(line, 300) + "…"
		}
		if size+len(line)+1 > MaxFailureSummary {
			return false
		}
		picked = append(picked, line)
		size += len(line) + 1
		return true
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if errorLine.MatchString(lines[i]) && !add(lines[i]) {
			break
		}
	}
	if len(picked) == 0 {
		for i := len(lines) - 1; i >= 0 && len(picked) < 5; i-- {
			if !add(lines[i]) {
				break
			}
		}
	}
	for i, j := 0, len(picked)-1; i < j; i, j = i+1, j-1 {
		picked[i], picked[j] = picked[j], picked[i]
	}
	return strings.Join(picked, "\n")
}

func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
