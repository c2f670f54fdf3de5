package tektontest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"unsafe"
)

const (
	// EnvE2E, set to "skip", skips the tests that need a private network namespace when
	// this machine cannot make one (not root and no user namespaces). For developer
	// machines only: with CI set, it is refused, so CI never skips them quietly.
	EnvE2E = "BUILD_WATCHER_E2E"

	// envNetns marks the test binary re-executed in its private network namespace.
	envNetns = "BUILD_WATCHER_E2E_NETNS"
)

// privateNetwork reports whether this process's network namespace has no interface but
// the loopback one, which is what a fresh namespace from unshare(CLONE_NEWNET) holds.
func privateNetwork() (bool, []string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return false, nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	var others []string
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback == 0 {
			others = append(others, i.Name)
		}
	}
	return len(others) == 0, others, nil
}

// requirePrivateNetwork fails unless this process runs in a private network namespace.
func requirePrivateNetwork() error {
	private, others, err := privateNetwork()
	if err != nil {
		return err
	}
	if !private {
		return fmt.Errorf("refusing to start the tekton controller: it listens on all interfaces (probes, metrics, profiling) and this network namespace has %s; run the tests through tektontest.Main, which makes a private one", strings.Join(others, ", "))
	}
	return nil
}

// reexecInNetns runs this test binary again, with the same arguments, in a new network
// namespace, and returns its exit code. As root it asks for the network namespace alone;
// when that is refused (a container without CAP_SYS_ADMIN) or when not root, it asks for a
// user namespace of its own as well, where it is root. Signals are passed on; the child
// dies with this process (Pdeathsig).
func reexecInNetns() (int, error) {
	code, err := reexec(os.Geteuid() == 0)
	if os.Geteuid() == 0 && errors.Is(err, syscall.EPERM) {
		code, err = reexec(false)
	}
	return code, err
}

func reexec(netnsOnly bool) (int, error) {
	tmp, err := os.MkdirTemp("", "build-watcher-tekton-")
	if err != nil {
		return 1, fmt.Errorf("making the tests' temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if !netnsOnly {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	// Every temporary directory of the child (the control plane's, the runner's, t.TempDir)
	// goes into tmp, which this process removes once the child has exited, however it
	// ended: a panicking test runs no deferred cleanup.
	cmd.Env = append(os.Environ(), envNetns+"=1", "TMPDIR="+tmp)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = attr
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		what := "a network namespace"
		if !netnsOnly {
			what = "user and network namespaces"
		}
		return 1, fmt.Errorf("re-running the tests in %s of their own: %w", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-signals:
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			var exit *exec.ExitError
			switch {
			case err == nil:
				return 0, nil
			case errors.As(err, &exit) && exit.ExitCode() >= 0:
				return exit.ExitCode(), nil
			default:
				return 1, fmt.Errorf("the tests in the private network namespace: %w", err)
			}
		}
	}
}

// ifreqFlags is struct ifreq with the ifr_flags member of the union (linux/if.h).
type ifreqFlags struct {
	name  [syscall.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// loopbackUp brings the lo interface up, as `ip link set lo up` does: a new network
// namespace has it down.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing lo up: socket: %w", err)
	}
	defer syscall.Close(fd)
	var req ifreqFlags
	copy(req.name[:], "lo")
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req))); errno != 0 {
		return fmt.Errorf("bringing lo up: reading its flags: %w", errno)
	}
	req.flags |= syscall.IFF_UP
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req))); errno != 0 {
		return fmt.Errorf("bringing lo up: setting its flags: %w", errno)
	}
	return nil
}

// uidMapped reports whether uid exists in this process's user namespace
// (/proc/self/uid_map: inside-ID, outside-ID, count per line).
func uidMapped(uid uint32) (bool, error) {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false, fmt.Errorf("reading the user namespace's ID map: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var inside, outside, count uint64
		if n, _ := fmt.Sscan(line, &inside, &outside, &count); n == 3 && uint64(uid) >= inside && uint64(uid) < inside+count {
			return true, nil
		}
	}
	return false, nil
}
