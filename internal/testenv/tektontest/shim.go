package tektontest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// envShim names the variable that turns the test binary into the step shim: its value is
// the path of a shimSpec in JSON.
const envShim = "BUILD_WATCHER_STEP_SHIM"

// exitShimFailed is the shim's exit code when it could not set the container up; the
// kubelet analogue is a container that never started (the runner reports it so).
const exitShimFailed = 125

// shimSpec is one container to start: the shim, already in a mount namespace of its own
// (started with CLONE_NEWNS, where / is private), builds the container's root filesystem
// on a tmpfs at Root, with the image's files and the volume mounts at their container
// paths, enters it with chroot, takes the container's user and execs the command. The host
// filesystem is never written: every mount point is made inside the tmpfs or a volume.
type shimSpec struct {
	Root   string      `json:"root"`
	Dirs   []shimDir   `json:"dirs"`
	Files  []shimFile  `json:"files"`
	Mounts []shimMount `json:"mounts"`
	// ReadOnlyRoot remounts the root read-only once it is built (readOnlyRootFilesystem).
	ReadOnlyRoot bool     `json:"readOnlyRoot"`
	WorkingDir   string   `json:"workingDir"`
	UID          uint32   `json:"uid"`
	GID          uint32   `json:"gid"`
	Groups       []uint32 `json:"groups"`
	// ParentPID is the runner's process: the shim gives up when it has died.
	ParentPID int `json:"parentPID"`
	// Path is the executable inside the root; Args includes argv[0].
	Path string   `json:"path"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
}

type shimDir struct {
	Path string      `json:"path"`
	Mode fs.FileMode `json:"mode"`
	UID  int         `json:"uid"`
	GID  int         `json:"gid"`
}

type shimFile struct {
	Path string      `json:"path"`
	Data []byte      `json:"data"`
	Mode fs.FileMode `json:"mode"`
}

// shimMount bind-mounts a host directory or file at a container path.
type shimMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

// shimErrFD is the file descriptor on which the shim reports a failure to start the
// container: the write end of a pipe, closed on exec, so the runner reads EOF when the
// command started and the cause when it did not (a command's own exit code proves nothing).
const shimErrFD = 3

// runShim sets up and execs the container described by the file at specPath. It returns
// only on failure, with the exit code to use, after writing the cause to shimErrFD.
func runShim(specPath string) int {
	syscall.CloseOnExec(shimErrFD)
	err := shim(specPath)
	fmt.Fprintf(os.Stderr, "pod runner: starting the container: %v\n", err)
	if f := os.NewFile(shimErrFD, "shim-errors"); f != nil {
		_, _ = f.WriteString(err.Error())
		f.Close()
	}
	return exitShimFailed
}

func shim(specPath string) error {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var s shimSpec
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("reading %s: %w", specPath, err)
	}
	if err := syscall.Mount("tmpfs", s.Root, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mounting the root tmpfs at %s: %w", s.Root, err)
	}
	in := func(p string) string { return filepath.Join(s.Root, filepath.Clean("/"+p)) }
	for _, d := range s.Dirs {
		if err := os.MkdirAll(in(d.Path), 0o755); err != nil {
			return err
		}
		if err := os.Chmod(in(d.Path), d.Mode); err != nil {
			return err
		}
		// EINVAL: the ID does not exist in this user namespace (see setUser).
		if err := os.Chown(in(d.Path), d.UID, d.GID); err != nil && !errors.Is(err, syscall.EINVAL) {
			return err
		}
	}
	for _, f := range s.Files {
		if err := os.MkdirAll(filepath.Dir(in(f.Path)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(in(f.Path), f.Data, f.Mode); err != nil {
			return err
		}
	}
	// Parents before children, so that a volume inside another lands on top of it.
	mounts := append([]shimMount(nil), s.Mounts...)
	sort.SliceStable(mounts, func(i, j int) bool {
		return strings.Count(path.Clean(mounts[i].Target), "/") < strings.Count(path.Clean(mounts[j].Target), "/")
	})
	for _, m := range mounts {
		if err := bindMount(m.Source, in(m.Target), m.ReadOnly); err != nil {
			return fmt.Errorf("mounting %s at %s: %w", m.Source, m.Target, err)
		}
	}
	if s.ReadOnlyRoot {
		if err := syscall.Mount("", s.Root, "", syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV, ""); err != nil {
			return fmt.Errorf("making the root read-only: %w", err)
		}
	}
	if err := syscall.Chroot(s.Root); err != nil {
		return fmt.Errorf("chroot %s: %w", s.Root, err)
	}
	wd := s.WorkingDir
	if wd == "" {
		wd = "/"
	}
	// Container runtimes make a missing working directory.
	if err := os.MkdirAll(wd, 0o755); err != nil && !errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("making the working directory %s: %w", wd, err)
	}
	if err := syscall.Chdir(wd); err != nil {
		return fmt.Errorf("working directory %s: %w", wd, err)
	}
	if err := setUser(s.UID, s.GID, s.Groups); err != nil {
		return err
	}
	// A change of user clears the parent-death signal the runner set: set it again, so
	// that the step dies with the test binary (it survives exec).
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		return fmt.Errorf("setting the parent-death signal: %w", errno)
	}
	if os.Getppid() != s.ParentPID {
		return errors.New("the pod runner is gone")
	}
	if err := syscall.Exec(s.Path, s.Args, s.Env); err != nil {
		return fmt.Errorf("exec %s: %w", s.Path, err)
	}
	return nil
}

// bindMount mounts source (a directory or a file) at target, making the mount point.
func bindMount(source, target string, readOnly bool) error {
	info, err := os.Stat(source)
	if err != nil {
		return err
	}
	if info.IsDir() {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := syscall.Mount(source, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return err
	}
	if readOnly {
		// A remount must keep the flags the source was mounted with (nosuid, nodev,
		// noexec): in a user namespace they are locked, and dropping one is refused.
		var st syscall.Statfs_t
		if err := syscall.Statfs(target, &st); err != nil {
			return err
		}
		flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY)
		for _, f := range []struct{ st, ms uintptr }{
			{stNosuid, syscall.MS_NOSUID}, {stNodev, syscall.MS_NODEV}, {stNoexec, syscall.MS_NOEXEC},
			{stNoatime, syscall.MS_NOATIME}, {stNodiratime, syscall.MS_NODIRATIME}, {stRelatime, syscall.MS_RELATIME},
		} {
			if uintptr(st.Flags)&f.st != 0 {
				flags |= f.ms
			}
		}
		if err := syscall.Mount("", target, "", flags, ""); err != nil {
			return fmt.Errorf("making it read-only: %w", err)
		}
	}
	return nil
}

// Mount flags as statfs(2) reports them (ST_* of <sys/statvfs.h>).
const (
	stNosuid     = 0x2
	stNodev      = 0x4
	stNoexec     = 0x8
	stNoatime    = 0x400
	stNodiratime = 0x800
	stRelatime   = 0x1000
)

// setUser takes the container's user. In a user namespace that maps only root (a developer
// machine without root), other IDs do not exist: the step then runs as that root.
func setUser(uid, gid uint32, groups []uint32) error {
	if uid == 0 && gid == 0 && len(groups) == 0 {
		return nil
	}
	gs := make([]int, len(groups))
	for i, g := range groups {
		gs[i] = int(g)
	}
	if err := syscall.Setgroups(gs); err != nil && !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("setting groups %v: %w", groups, err)
	}
	if err := syscall.Setgid(int(gid)); err != nil {
		if errors.Is(err, syscall.EINVAL) {
			fmt.Fprintf(os.Stderr, "pod runner: gid %d is not mapped in this user namespace; running as root of the namespace\n", gid)
			return nil
		}
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(int(uid)); err != nil {
		if errors.Is(err, syscall.EINVAL) {
			fmt.Fprintf(os.Stderr, "pod runner: uid %d is not mapped in this user namespace; running as root of the namespace\n", uid)
			return nil
		}
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	return nil
}
