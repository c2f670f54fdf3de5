// Package testproc runs the server processes tests start (etcd, kube-apiserver, registries):
// each in its own process group, killed when the test binary dies, stopped by PID.
package testproc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ErrExited says the process ended on its own, before it was stopped.
var ErrExited = errors.New("process exited")

// Spec is a process to start.
type Spec struct {
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Dir is the working directory; empty: the caller's.
	Dir string
	// Env is the whole environment; nil: the caller's.
	Env []string
	// Log receives stdout and stderr; an *os.File is handed to the child directly.
	Log io.Writer
}

// Process is a started child.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts spec in its own process group with Pdeathsig SIGKILL, so that the process
// dies with the test binary even when a test panics.
func Start(spec Spec) (*Process, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir, cmd.Env = spec.Dir, spec.Env
	cmd.Stdout, cmd.Stderr = spec.Log, spec.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", filepath.Base(spec.Path), err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID is the process id, which is also its process group id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and was reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited returns an error wrapping ErrExited when the process has exited, else nil.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s (pid %d): %w: %s", filepath.Base(p.cmd.Path), p.PID(), ErrExited, p.cmd.ProcessState)
	default:
		return nil
	}
}

// ExitCode is the exit code of a process that exited (-1 when a signal ended it); it waits
// for the process to exit.
func (p *Process) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM to the process group and SIGKILL after grace, and waits until the
// process is reaped. It is an error when the process had already exited or needed SIGKILL.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.Exited(); err != nil {
		return fmt.Errorf("stopping: %w before it was stopped", err)
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("stopping %s (pid %d): still running %s after SIGTERM, killed", filepath.Base(p.cmd.Path), p.PID(), grace)
	}
}

// Kill sends SIGKILL to the process alone (kill -9: nothing of it runs a defer or a
// handler) and waits until it is reaped. It is an error when the process had already
// exited: a test that kills a process to see what survives must know it was running.
func (p *Process) Kill() error {
	if err := p.Exited(); err != nil {
		return fmt.Errorf("killing: %w before it was killed", err)
	}
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing %s (pid %d): %w", filepath.Base(p.cmd.Path), p.PID(), err)
	}
	<-p.done
	return nil
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
func FreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close() // held until all are chosen, so they are distinct
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
