package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the cluster part of `make demo`, the README's first command, end to end:
// every build gets its analysis written back and the stand-in accepts every submission.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("demo-cluster: %v\n%s", err, out.String())
	}
	for _, want := range []string{"build/", "taskrun/", "The stand-in accepted 3 submissions and rejected 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
		}
	}
}
