// Command peakrss runs a command and writes its peak resident set size, in KiB, to the file
// named by -o; the command's output and exit status pass through.
//
// A Go program cannot measure this for its own children: it starts them with a clone that
// shares its address space until exec, and Linux carries that space's peak over into the
// child's (ru_maxrss is the larger of the two). So a test binary of 60 MiB would see at
// least 60 MiB for every child. peakrss is small, and so is what its children inherit.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 4 || os.Args[1] != "-o" {
		fmt.Fprintln(os.Stderr, "usage: peakrss -o FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	out, argv := os.Args[2], os.Args[3:]
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
		os.Exit(1)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		if err := os.WriteFile(out, []byte(strconv.FormatInt(ru.Maxrss, 10)+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
