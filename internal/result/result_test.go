package result

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// writeCase is a case of TestWrite.
type writeCase struct {
	name   string
	result string
	value  string
}

// writeCases returns the cases of TestWrite;
// FuzzWrite is seeded from them.
func writeCases() []writeCase {
	return []writeCase{
		{"simple", "image-digest", "sha256:0123456789abcdef"},
		{"empty value writes empty file", "empty", ""},
		{"trailing newline kept as given", "nl", "a\n"},
		{"no newline added", "url", "quay.io/ns/img@sha256:abc"},
		{"digit first", "0name", "x"},
		{"single char", "a", "x"},
		{"binary and unicode", "bin", "\x00\xff密码"},
		{"exactly the limit", "max", strings.Repeat("x", MaxValueBytes)},
		{"longest name", strings.Repeat("a", MaxNameBytes), "x"},
	}
}

func TestWrite(t *testing.T) {
	tests := writeCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewWriter(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !w.Enabled() {
				t.Fatal("Enabled() = false for a directory")
			}
			if err := w.Write(tt.result, tt.value); err != nil {
				t.Fatalf("Write(%q) = %v", tt.result, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, tt.result))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.value {
				t.Errorf("file holds %q, want %q", got, tt.value)
			}
			fi, err := os.Stat(filepath.Join(dir, tt.result))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != 0o644 {
				t.Errorf("mode = %v, want 0644", fi.Mode())
			}
			assertOnlyFiles(t, dir, tt.result)
		})
	}
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a much longer first value", "short", ""} {
		if err := w.Write("digest", v); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "digest"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != v {
			t.Errorf("after writing %q the file holds %q", v, got)
		}
	}
	assertOnlyFiles(t, dir, "digest")
}

// badWriteCase is a case of TestWriteBadInput.
type badWriteCase struct {
	name    string
	result  string
	value   string
	wantErr error
	wantMsg []string
}

// badWriteCases returns the cases of TestWriteBadInput;
// FuzzWrite is seeded from them.
func badWriteCases() []badWriteCase {
	return []badWriteCase{
		{"empty name", "", "x", ErrInvalidName, []string{`""`}},
		{"upper case", "Digest", "x", ErrInvalidName, []string{`"Digest"`}},
		{"leading dash", "-x", "x", ErrInvalidName, []string{`"-x"`}},
		{"underscore", "image_digest", "x", ErrInvalidName, nil},
		{"dot", "a.b", "x", ErrInvalidName, nil},
		{"path traversal", "../x", "x", ErrInvalidName, nil},
		{"slash", "a/b", "x", ErrInvalidName, nil},
		{"trailing newline", "a\n", "x", ErrInvalidName, nil},
		{"unicode", "dïgest", "x", ErrInvalidName, nil},
		{"name too long", strings.Repeat("a", MaxNameBytes+1), "x", ErrInvalidName, nil},
		{"value one over", "digest", strings.Repeat("x", MaxValueBytes+1), ErrTooLarge, []string{"digest", "4097", "4096"}},
		{"value far over", "log", strings.Repeat("x", 1<<20), ErrTooLarge, []string{"log", "1048576"}},
	}
}

func TestWriteBadInput(t *testing.T) {
	tests := badWriteCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			enabled, err := NewWriter(dir)
			if err != nil {
				t.Fatal(err)
			}
			disabled, err := NewWriter("")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []*Writer{enabled, disabled} {
				err := w.Write(tt.result, tt.value)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Write(%q) (enabled %v) = %v, want %v", tt.result, w.Enabled(), err, tt.wantErr)
				}
				for _, s := range tt.wantMsg {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
			}
			assertOnlyFiles(t, dir)
		})
	}
}

func TestNewWriterBadInput(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dir      string
		wantIs   error
		wantText string
	}{
		{"missing directory", filepath.Join(tmp, "missing"), fs.ErrNotExist, "missing"},
		{"file in place of directory", file, nil, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(tt.dir)
			if err == nil {
				t.Fatalf("NewWriter(%q) = %v, want an error", tt.dir, w)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			for _, s := range []string{tt.dir, tt.wantText, "/tekton/results"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	w, err := NewWriter("")
	if err != nil {
		t.Fatal(err)
	}
	if w.Enabled() {
		t.Error("Enabled() = true for an empty dir")
	}
	if err := w.Write("digest", "x"); err != nil {
		t.Errorf("Write on a disabled Writer = %v, want nil", err)
	}
	var nilW *Writer
	if nilW.Enabled() {
		t.Error("nil Writer: Enabled() = true")
	}
}

func TestWriteDirectoryGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("digest", "x"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "digest") {
		t.Errorf("Write into a removed directory = %v, want an error naming the result and wrapping fs.ErrNotExist", err)
	}
}

// assertOnlyFiles fails unless dir holds exactly the named files (no
// temporary files are left behind).
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

// FuzzWrite checks that valid names round-trip any value within the limit,
// that invalid names and oversized values give an error, and that Write
// never panics or leaves temporary files.
func FuzzWrite(f *testing.F) {
	for _, c := range writeCases() {
		f.Add(c.result, c.value)
	}
	for _, c := range badWriteCases() {
		if len(c.value) <= 2*MaxValueBytes { // keep the seed corpus small
			f.Add(c.result, c.value)
		}
	}
	dir := f.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		err := w.Write(name, value)
		valid := len(name) <= MaxNameBytes && validName.MatchString(name)
		switch {
		case !valid:
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("Write(%q) = %v, want ErrInvalidName", name, err)
			}
		case len(value) > MaxValueBytes:
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Write(%q) with %d bytes = %v, want ErrTooLarge", name, len(value), err)
			}
		default:
			if err != nil {
				t.Fatalf("Write(%q) = %v", name, err)
			}
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != value {
				t.Fatalf("Write(%q): file holds %q, want %q", name, got, value)
			}
			// Keep the directory small for the listing below.
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Fatalf("temporary file %s left behind", e.Name())
			}
		}
	})
}

// TestWriteJSONLookingValues: values that read as JSON are written as they are, and, as
// results declared type: string, stay strings through Tekton: the controller keeps a
// declared string result as written (pkg/pod/status.go, filterResults:
// NewStructuredValues(value)), and the TaskRun status round-trips through the API as JSON.
// Only an undeclared result goes through ParamValue.UnmarshalJSON, which types it by its
// looks (wantUndeclared), which is why every Task of ours declares its results.
func TestWriteJSONLookingValues(t *testing.T) {
	tests := []struct {
		name, value    string
		wantUndeclared pipelinev1.ParamType
	}{
		{name: "array", value: `["ERROR: No matching distribution found for tensorflow==2.99.0"]`, wantUndeclared: pipelinev1.ParamTypeArray},
		{name: "empty array", value: `[]`, wantUndeclared: pipelinev1.ParamTypeArray},
		{name: "object", value: `{"error":"build failed"}`, wantUndeclared: pipelinev1.ParamTypeObject},
		{name: "JSON string", value: `"quoted"`, wantUndeclared: pipelinev1.ParamTypeString},
		{name: "a log section header", value: "[build-image/build-and-push] ERROR: build failed\nerror: exit status 1", wantUndeclared: pipelinev1.ParamTypeString},
		{name: "leading space", value: ` ["a"]`, wantUndeclared: pipelinev1.ParamTypeString},
		{name: "array of numbers", value: `[1, 2]`, wantUndeclared: pipelinev1.ParamTypeString},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewWriter(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write("failure-summary", tt.value); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "failure-summary"))
			if err != nil || string(raw) != tt.value {
				t.Fatalf("file holds %q (%v), want %q", raw, err, tt.value)
			}

			// Declared type: string, as the controller records it and clients read it back.
			declared := pipelinev1.TaskRunResult{Name: "failure-summary", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(string(raw))}
			stored, err := json.Marshal(declared)
			if err != nil {
				t.Fatal(err)
			}
			var read pipelinev1.TaskRunResult
			if err := json.Unmarshal(stored, &read); err != nil {
				t.Fatal(err)
			}
			if read.Type != pipelinev1.ResultsTypeString || read.Value.Type != pipelinev1.ParamTypeString || read.Value.StringVal != tt.value {
				t.Errorf("declared string result read back as %s %+v, want the string %q", read.Type, read.Value, tt.value)
			}

			// Undeclared: typed by its looks.
			var undeclared pipelinev1.ResultValue
			if err := undeclared.UnmarshalJSON(raw); err != nil {
				t.Fatal(err)
			}
			if undeclared.Type != tt.wantUndeclared {
				t.Errorf("undeclared result typed %s, want %s", undeclared.Type, tt.wantUndeclared)
			}
		})
	}
}
