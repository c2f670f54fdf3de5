package usage

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestErrorf(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantMsg string
		wantIs  []error
		notIs   []error
	}{
		{name: "plain", err: Errorf("--output must be text or json, not %q", "yaml"), wantMsg: `--output must be text or json, not "yaml"`, wantIs: []error{ErrBadInput}},
		{name: "wraps cause", err: Errorf("reading --ca-file: %w", fs.ErrNotExist), wantMsg: "reading --ca-file: file does not exist", wantIs: []error{ErrBadInput, fs.ErrNotExist}},
		{name: "wrap keeps message", err: Wrap(fs.ErrPermission), wantMsg: "permission denied", wantIs: []error{ErrBadInput, fs.ErrPermission}},
		{name: "wrapped again", err: fmt.Errorf("submit: %w", Errorf("x")), wantMsg: "submit: x", wantIs: []error{ErrBadInput}},
		{name: "other errors are not bad input", err: errors.New("boom"), wantMsg: "boom", notIs: []error{ErrBadInput}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tt.wantMsg)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, target)
				}
			}
			for _, target := range tt.notIs {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = true, want false", tt.err, target)
				}
			}
		})
	}
	if Wrap(nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
}
