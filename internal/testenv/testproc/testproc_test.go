package testproc

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestStartStop(t *testing.T) {
	tests := []struct {
		name      string
		spec      Spec
		grace     time.Duration
		wantErr   bool
		exitFirst bool
	}{
		{name: "stops on SIGTERM", spec: Spec{Path: "/bin/sleep", Args: []string{"60"}}, grace: 10 * time.Second},
		{name: "killed when SIGTERM is ignored", spec: Spec{Path: "/bin/sh", Args: []string{"-c", "trap '' TERM; echo ready; sleep 60 & wait"}}, grace: 100 * time.Millisecond, wantErr: true},
		{name: "already exited", spec: Spec{Path: "/bin/true"}, grace: time.Second, wantErr: true, exitFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := &readyWriter{ch: make(chan struct{})}
			tt.spec.Log = ready
			p, err := Start(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.Join(tt.spec.Args, " "), "echo ready") {
				<-ready.ch // the trap is set
			}
			if tt.exitFirst {
				<-p.Done()
				if err := p.Exited(); !errors.Is(err, ErrExited) {
					t.Errorf("Exited() = %v", err)
				}
			}
			err = p.Stop(tt.grace)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Stop() = %v, want error %v", err, tt.wantErr)
			}
			select {
			case <-p.Done():
			default:
				t.Fatal("Stop returned before the process was reaped")
			}
			if syscall.Kill(p.PID(), 0) == nil {
				t.Errorf("process %d still alive", p.PID())
			}
		})
	}
	if _, err := Start(Spec{Path: "/nonexistent/binary"}); err == nil {
		t.Error("starting a missing binary succeeded")
	}
}

// readyWriter closes ch on the first write.
type readyWriter struct {
	once sync.Once
	ch   chan struct{}
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d twice in %v", p, ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}

func TestKill(t *testing.T) {
	// sleep ignores SIGTERM (set before exec, kept across it): only SIGKILL ends it.
	p, err := Start(Spec{Path: "/bin/sh", Args: []string{"-c", "trap '' TERM; exec sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != -1 {
		t.Errorf("exit code %d, want -1 (ended by a signal)", code)
	}
	if err := p.Kill(); !errors.Is(err, ErrExited) {
		t.Errorf("killing it again: %v, want an error wrapping ErrExited", err)
	}
}
