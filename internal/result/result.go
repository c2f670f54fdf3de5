// Package result writes Tekton Task results: one file per result in the
// results directory Tekton mounts (/tekton/results), which Tekton reads
// back into the TaskRun's status.
//
// Values are written exactly as given, even one that reads as JSON, such as a
// failure summary whose only line is ["..."]. Tekton parses a result value as
// JSON, typing "[...]" as an array and "{...}" as an object, only when the
// Task does not declare the result as a string: a result declared type: string
// is kept as written (pkg/pod/status.go, filterResults, since Tekton v0.43,
// tektoncd/pipeline#5814), so no type mismatch fails the TaskRun. Every Task
// that runs our binaries declares its results type: string (and tekton.dev/v1
// defaults an undeclared type to string), so the values need no escaping, and
// rewriting them here would only change what users read.
package result

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// MaxValueBytes is the largest value Write accepts (Tekton's per-result
// budget; results share a 4096-byte termination message).
const MaxValueBytes = 4096

// MaxNameBytes is the longest result name Write accepts; it keeps the result
// file and its temporary file within file-system name limits.
const MaxNameBytes = 128

// ErrTooLarge is returned (wrapped) when a value exceeds MaxValueBytes.
var ErrTooLarge = errors.New("result value too large")

// ErrInvalidName is returned (wrapped) when a result name is not a valid
// Tekton result name as Write accepts it.
var ErrInvalidName = errors.New("invalid result name")

// validName matches the result names Write accepts. Compiled once and never
// modified.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Writer writes Task results into a directory, one file per result. A
// Writer is safe for concurrent use; results with different names may be
// written concurrently.
type Writer struct {
	dir string // "" discards
}

// NewWriter returns a Writer for the results directory dir, which must exist
// and be a directory. An empty dir gives a Writer that checks and discards
// results, for runs outside Tekton.
func NewWriter(dir string) (*Writer, error) {
	if dir == "" {
		return &Writer{}, nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("opening results directory: %w; Tekton mounts it at /tekton/results, leave it empty outside Tekton", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("opening results directory %s: not a directory; Tekton mounts it at /tekton/results, leave it empty outside Tekton", dir)
	}
	return &Writer{dir: dir}, nil
}

// Enabled reports whether w writes results to a directory, that is whether
// it was made with a non-empty dir.
func (w *Writer) Enabled() bool { return w != nil && w.dir != "" }

// Write writes value, exactly and without a trailing newline, as the result
// name. name must match ^[a-z0-9][a-z0-9-]*$ and be at most MaxNameBytes
// long, else the error wraps ErrInvalidName. A value longer than
// MaxValueBytes is not written or truncated: the error wraps ErrTooLarge.
// The file is replaced atomically (a temporary file in the same directory
// is renamed over it) and has mode 0644. A Writer that is not Enabled
// checks name and value and discards them.
func (w *Writer) Write(name, value string) error {
	if len(name) > MaxNameBytes || !validName.MatchString(name) {
		return fmt.Errorf("writing result %q: %w: want lower-case letters, digits and '-', starting with a letter or digit, at most %d bytes", name, ErrInvalidName, MaxNameBytes)
	}
	if len(value) > MaxValueBytes {
		return fmt.Errorf("writing result %s: %w: %d bytes, the limit is %d", name, ErrTooLarge, len(value), MaxValueBytes)
	}
	if !w.Enabled() {
		return nil
	}
	if err := writeAtomic(w.dir, name, value); err != nil {
		return fmt.Errorf("writing result %s: %w", name, err)
	}
	return nil
}

// writeAtomic writes value to dir/name through a temporary file in dir.
func writeAtomic(dir, name, value string) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.WriteString(value); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}
