// Command stepper is the step command of the pod runner's own tests: it does what its
// arguments say, in order, and prints what it sees, so that a test can check the
// environment, user, working directory, volumes and results the runner gave the step.
//
//	result:NAME=VALUE   write VALUE to /tekton/results/NAME
//	write:PATH=CONTENT  write CONTENT to PATH
//	cat:PATH            print PATH's content as "cat PATH: CONTENT"
//	env:NAME            print "env NAME=VALUE" ("env NAME unset" when unset)
//	id                  print "uid=U gid=G"
//	pwd                 print "pwd DIR"
//	sleep:DURATION      sleep
//	exit:CODE           exit with CODE
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	for _, arg := range os.Args[1:] {
		if err := do(arg); err != nil {
			fmt.Fprintf(os.Stderr, "stepper: %s: %v\n", arg, err)
			os.Exit(1)
		}
	}
}

func do(arg string) error {
	action, operand, _ := strings.Cut(arg, ":")
	switch action {
	case "result":
		name, value, _ := strings.Cut(operand, "=")
		return os.WriteFile(filepath.Join("/tekton/results", name), []byte(value), 0o644)
	case "write":
		path, content, _ := strings.Cut(operand, "=")
		return os.WriteFile(path, []byte(content), 0o644)
	case "cat":
		data, err := os.ReadFile(operand)
		if err != nil {
			return err
		}
		fmt.Printf("cat %s: %s\n", operand, data)
	case "env":
		if v, ok := os.LookupEnv(operand); ok {
			fmt.Printf("env %s=%s\n", operand, v)
		} else {
			fmt.Printf("env %s unset\n", operand)
		}
	case "id":
		fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		fmt.Printf("pwd %s\n", wd)
	case "sleep":
		d, err := time.ParseDuration(operand)
		if err != nil {
			return err
		}
		time.Sleep(d)
	case "exit":
		code, err := strconv.Atoi(operand)
		if err != nil {
			return err
		}
		os.Exit(code)
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return nil
}
