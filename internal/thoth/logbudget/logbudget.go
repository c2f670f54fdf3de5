// Package logbudget fits a build log into the byte budget of a Thoth request body: it turns
// a log of any length into one JSON string literal, keeping its head and tail when it must cut.
package logbudget

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// Encoded is a build log encoded as one JSON string literal.
type Encoded struct {
	// JSON is the JSON string literal, including the surrounding double quotes.
	JSON []byte
	// TotalBytes is how many bytes the source log had.
	TotalBytes int64
	// CutBytes is how many bytes of the source were left out of the middle (0 when nothing was cut).
	CutBytes int64
}

// MinBudget is the smallest budget Encode accepts (enough for quotes, a marker line and a little head/tail).
const MinBudget = 1024

const (
	// headShareDiv makes the head get 1/headShareDiv of what the marker leaves, the tail the rest:
	// failures are at the end of a log.
	headShareDiv = 3
	// maxLineSnap is the farthest a cut point moves to land on a line boundary.
	maxLineSnap = 16 << 10
	// lineSnapDiv caps the move at 1/lineSnapDiv of the head or tail share for small budgets.
	lineSnapDiv = 4
	// initialWindow is the first size of the read window, which grows up to the content budget
	// so that short logs cost little memory.
	initialWindow = 4 << 10
	// maxEmptyReads is how many (0, nil) reads in a row Encode puts up with, as bufio does.
	maxEmptyReads = 100
)

// Encode reads r to the end and returns it as a JSON string literal of at most budget bytes
// (len(JSON) <= budget, quotes included).
//
// When the whole log fits it is kept whole (invalid UTF-8 bytes become U+FFFD). When it does not
// fit, Encode keeps a head (1/3 of the room) and a tail (2/3, since failures are at the end),
// cut at line boundaries where a newline lies near the cut point (else at a rune boundary), and
// puts between them one marker line:
//
//	"\n[... build-watcher: 12345 bytes cut from the middle of this log (67890 bytes in all) ...]\n"
//
// The first number is CutBytes, which equals TotalBytes minus the source bytes kept.
//
// Encoding: '"' and '\' are backslash-escaped; \n, \r and \t become two-character escapes;
// other bytes below 0x20 and 0x7f become \u00XX; U+2028 and U+2029 become \u2028 and \u2029;
// every byte that is not part of valid UTF-8 becomes U+FFFD; everything else passes through.
// The result is never HTML-escaped.
//
// Memory stays O(budget) whatever the length of r: Encode holds the head in one buffer and the
// last budget-2 bytes of r in a ring buffer, never the whole log.
//
// Encode fails when budget < MinBudget, or with a wrapped read error from r.
func Encode(r io.Reader, budget int) (*Encoded, error) {
	if budget < MinBudget {
		return nil, fmt.Errorf("encoding build log: budget %d bytes is below the minimum of %d bytes", budget, MinBudget)
	}
	content := budget - 2 // room inside the quotes
	// Reserve room for the longest possible marker so the head buffer size is known up front.
	avail := content - EncodedLen(marker(math.MaxInt64, math.MaxInt64))
	headBudget := avail / headShareDiv
	tailBudget := avail - headBudget

	// Every raw byte encodes to at least one byte, so the last content bytes hold any tail that
	// can fit, and whenever the log has at most content bytes the window holds all of it.
	// The head needs headBudget bytes plus room to finish a rune that starts just before.
	w := window{size: content, headCap: headBudget + utf8.UTFMax}
	if err := w.fill(r); err != nil {
		return nil, err
	}
	head, tail, tailOff := w.parts()

	if w.total <= int64(content) {
		if n := EncodedLen(tail); n <= content {
			out := make([]byte, 0, n+2)
			out = append(out, '"')
			out = appendEscaped(out, tail)
			out = append(out, '"')
			return &Encoded{JSON: out, TotalBytes: w.total}, nil
		}
	}

	headEnd, headEnc := cutHead(head, headBudget)
	tailStart, tailEnc := cutTail(tail, tailBudget)
	cut := tailOff + int64(tailStart) - int64(headEnd)
	m := marker(cut, w.total)

	out := make([]byte, 0, 2+headEnc+EncodedLen(m)+tailEnc)
	out = append(out, '"')
	out = appendEscaped(out, head[:headEnd])
	out = appendEscaped(out, m)
	out = appendEscaped(out, tail[tailStart:])
	out = append(out, '"')
	return &Encoded{JSON: out, TotalBytes: w.total, CutBytes: cut}, nil
}

// marker returns the line put between head and tail.
func marker(cut, total int64) []byte {
	b := make([]byte, 0, 128)
	b = append(b, "\n[... build-watcher: "...)
	b = strconv.AppendInt(b, cut, 10)
	b = append(b, " bytes cut from the middle of this log ("...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, " bytes in all) ...]\n"...)
	return b
}

// window reads a stream keeping its first headCap bytes and its last size bytes.
type window struct {
	size    int // most bytes kept from the end of the stream
	headCap int // bytes kept from the start once the ring wraps

	buf   []byte // grows up to size; then a ring of len(buf) == size
	ring  bool   // buf is full and wraps around
	pos   int    // ring mode: where the next byte goes
	head  []byte // ring mode: first headCap bytes of the stream
	total int64  // bytes read so far
}

// fill reads r to the end.
func (w *window) fill(r io.Reader) error {
	w.buf = make([]byte, 0, min(w.size, initialWindow))
	empty := 0
	for {
		var dst []byte
		switch {
		case w.ring:
			if w.pos == len(w.buf) {
				w.pos = 0
			}
			dst = w.buf[w.pos:]
		case len(w.buf) < cap(w.buf):
			dst = w.buf[len(w.buf):cap(w.buf)]
		case cap(w.buf) < w.size:
			grown := make([]byte, len(w.buf), min(2*cap(w.buf), w.size))
			copy(grown, w.buf)
			w.buf = grown
			dst = w.buf[len(w.buf):cap(w.buf)]
		default:
			// Full: from now on the oldest bytes get overwritten, so save the head first.
			w.ring = true
			w.head = bytes.Clone(w.buf[:min(w.headCap, len(w.buf))])
			w.pos = 0
			dst = w.buf
		}

		n, err := r.Read(dst)
		if n < 0 || n > len(dst) {
			return fmt.Errorf("reading build log: reader returned invalid count %d", n)
		}
		w.total += int64(n)
		if w.ring {
			w.pos += n
		} else {
			w.buf = w.buf[:len(w.buf)+n]
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("reading build log: %w", err)
		case n == 0:
			empty++
			if empty >= maxEmptyReads {
				return fmt.Errorf("reading build log: %w", io.ErrNoProgress)
			}
		default:
			empty = 0
		}
	}
}

// parts returns the start of the stream (at least headCap bytes when the stream is that long),
// its end (up to size bytes, in order) and the stream offset of the end's first byte.
// It may reorder the ring in place, so call it once, after fill.
func (w *window) parts() (head, tail []byte, tailOff int64) {
	if w.total <= int64(w.size) {
		// Nothing was overwritten, even if the ring was entered just before EOF.
		all := w.buf[:w.total]
		return all[:min(w.headCap, len(all))], all, 0
	}
	// Rotate the ring so that the oldest byte, at pos, comes first.
	p := w.pos % len(w.buf)
	reverse(w.buf[:p])
	reverse(w.buf[p:])
	reverse(w.buf)
	return w.head, w.buf, w.total - int64(len(w.buf))
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

// cutHead returns the end of the longest prefix of b that starts the stream, ends on a rune
// boundary and encodes to at most limit bytes, moved back to just after a newline when one is
// near, and that prefix's encoded length. b must run at least utf8.UTFMax bytes past limit or
// to the end of the stream, so no rune is judged on a truncated view.
func cutHead(b []byte, limit int) (end, enc int) {
	for end < len(b) {
		size, e := runeEnc(b[end:])
		if enc+e > limit {
			break
		}
		end += size
		enc += e
	}
	if end == 0 || b[end-1] == '\n' {
		return end, enc
	}
	from := max(0, end-snapDistance(limit))
	if i := bytes.LastIndexByte(b[from:end], '\n'); i >= 0 {
		nl := from + i + 1
		enc -= EncodedLen(b[nl:end])
		end = nl
	}
	return end, enc
}

// cutTail returns the start of the longest suffix of b that starts on a rune boundary of the
// stream and encodes to at most limit bytes, moved forward to just after a newline when one is
// near, and that suffix's encoded length. b must end where the stream ends, and b[0] must either
// start the stream or lie more than utf8.UTFMax bytes before len(b)-limit.
func cutTail(b []byte, limit int) (start, enc int) {
	start = runeStart(b, max(0, len(b)-limit))
	enc = EncodedLen(b[start:])
	for enc > limit {
		size, e := runeEnc(b[start:])
		start += size
		enc -= e
	}
	if start == 0 || b[start-1] == '\n' {
		return start, enc
	}
	to := min(len(b), start+snapDistance(limit))
	if i := bytes.IndexByte(b[start:to], '\n'); i >= 0 {
		nl := start + i + 1
		enc -= EncodedLen(b[start:nl])
		start = nl
	}
	return start, enc
}

// snapDistance is how far a cut point may move to reach a line boundary in a share of limit bytes.
func snapDistance(limit int) int {
	return min(maxLineSnap, limit/lineSnapDiv)
}

// runeStart returns the first position at or after i where decoding the stream starts a rune
// (valid or not). b[0] is taken to be such a position.
//
// A byte that is not a UTF-8 continuation byte always starts a rune. A continuation byte does
// unless one of the three bytes before it leads a sequence that takes it in, so decoding from the
// nearest non-continuation byte at most three bytes back finds the answer.
func runeStart(b []byte, i int) int {
	if i >= len(b) || !isContinuation(b[i]) {
		return i
	}
	for p := i - 1; p >= 0 && p >= i-(utf8.UTFMax-1); p-- {
		if p == 0 || !isContinuation(b[p]) {
			for p < i {
				_, size := utf8.DecodeRune(b[p:])
				p += size
			}
			return p
		}
	}
	return i
}

func isContinuation(c byte) bool {
	return c&0xC0 == 0x80
}

// runeEnc decodes the rune (or invalid byte) at the start of b, which must not be empty, and
// returns how many bytes of b it takes and how many bytes it encodes to.
func runeEnc(b []byte) (size, enc int) {
	c := b[0]
	if c < utf8.RuneSelf {
		return 1, asciiEnc(c)
	}
	r, size := utf8.DecodeRune(b)
	switch {
	case r == utf8.RuneError && size == 1:
		return 1, len(string(utf8.RuneError))
	case r == '\u2028' || r == '\u2029':
		return size, len(`\u2028`)
	default:
		return size, size
	}
}

// asciiEnc returns the encoded length of the ASCII byte c.
func asciiEnc(c byte) int {
	switch {
	case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
		return 2
	case c < 0x20 || c == 0x7f:
		return len(`\u0000`)
	default:
		return 1
	}
}

// EncodedLen returns the length of the JSON string content encoding b (without quotes) by the
// rules Encode follows.
func EncodedLen(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf {
			n += asciiEnc(c)
			i++
			continue
		}
		size, e := runeEnc(b[i:])
		n += e
		i += size
	}
	return n
}

// appendEscaped appends b encoded as JSON string content (without quotes) to dst.
func appendEscaped(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0 // b[start:i] passes through unchanged
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if asciiEnc(c) == 1 {
				i++
				continue
			}
			dst = append(dst, b[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, b[start:i]...)
			dst = utf8.AppendRune(dst, utf8.RuneError)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, b[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, b[start:]...)
}
