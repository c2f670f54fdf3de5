package tektontest

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// entrypointPath is the command Tekton gives every step container: its entrypoint binary,
// copied into a shared volume by the pod's init container, wrapping the step's own command.
const entrypointPath = "/tekton/bin/entrypoint"

// errUnsupported marks a pod feature the runner does not stand in for.
var errUnsupported = errors.New("not supported by the pod runner")

// entrypointArgs is what Tekton's controller told its entrypoint for one step container
// (pkg/pod/entrypoint.go orderContainers; flags of cmd/entrypoint).
type entrypointArgs struct {
	// Command is the step's own command and arguments: -entrypoint, then what follows "--".
	Command         []string
	WaitFiles       []string
	WaitFileContent bool
	PostFile        string
	TerminationPath string
	StepMetadataDir string
	Results         []string
	StepResults     []string
	OnError         string
	Timeout         time.Duration
	StdoutPath      string
	StderrPath      string
	ResultFrom      string
	Compress        bool
	// When are the step's when expressions, evaluated by the entrypoint after step results
	// are substituted.
	When pipelinev1.StepWhenExpressions
}

// parseEntrypoint reads a step container's command and args as Tekton's entrypoint would. A
// flag whose behaviour the runner does not reproduce (debugging, when expressions, SPIRE,
// credential initialisation) is an error wrapping errUnsupported, never silently ignored.
func parseEntrypoint(command, args []string) (*entrypointArgs, error) {
	if len(command) != 1 || command[0] != entrypointPath {
		return nil, fmt.Errorf("command %q is not Tekton's entrypoint %s", command, entrypointPath)
	}
	var (
		e          entrypointArgs
		ep         string
		waitFiles  string
		results    string
		stepResult string
		when       string
	)
	fs := flag.NewFlagSet("entrypoint", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&ep, "entrypoint", "", "")
	fs.StringVar(&waitFiles, "wait_file", "", "")
	fs.BoolVar(&e.WaitFileContent, "wait_file_content", false, "")
	fs.StringVar(&e.PostFile, "post_file", "", "")
	fs.StringVar(&e.TerminationPath, "termination_path", "/tekton/termination", "")
	fs.StringVar(&e.StepMetadataDir, "step_metadata_dir", "", "")
	fs.StringVar(&results, "results", "", "")
	fs.StringVar(&stepResult, "step_results", "", "")
	fs.StringVar(&e.OnError, "on_error", "", "")
	fs.DurationVar(&e.Timeout, "timeout", 0, "")
	fs.StringVar(&e.StdoutPath, "stdout_path", "", "")
	fs.StringVar(&e.StderrPath, "stderr_path", "", "")
	fs.StringVar(&e.ResultFrom, "result_from", "termination-message", "")
	fs.BoolVar(&e.Compress, "compress_termination_message", false, "")
	fs.StringVar(&when, "when_expressions", "", "")
	if err := fs.Parse(args); err != nil {
		if strings.Contains(err.Error(), "flag provided but not defined") {
			return nil, fmt.Errorf("entrypoint arguments %q: %w (%w)", args, err, errUnsupported)
		}
		return nil, fmt.Errorf("entrypoint arguments %q: %w", args, err)
	}
	if ep == "" {
		return nil, fmt.Errorf("entrypoint arguments %q have no -entrypoint: a step without a command needs its image's entrypoint, which is %w; give the step a command", args, errUnsupported)
	}
	switch e.OnError {
	case "", "continue", "stopAndFail":
	default:
		return nil, fmt.Errorf("entrypoint -on_error %q: want continue or stopAndFail", e.OnError)
	}
	if e.ResultFrom != "termination-message" {
		return nil, fmt.Errorf("entrypoint -result_from %q: results from sidecar logs are %w; keep feature flag results-from at termination-message", e.ResultFrom, errUnsupported)
	}
	if when != "" {
		if err := json.Unmarshal([]byte(when), &e.When); err != nil {
			return nil, fmt.Errorf("entrypoint -when_expressions %q: %w", when, err)
		}
		for _, w := range e.When {
			if w.CEL != "" {
				return nil, fmt.Errorf("step when expression %q: CEL is %w", w.CEL, errUnsupported)
			}
		}
	}
	e.Command = append([]string{ep}, fs.Args()...)
	e.WaitFiles = splitList(waitFiles)
	e.Results = splitList(results)
	e.StepResults = splitList(stepResult)
	return &e, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// stepResultRef matches a reference to a step's string result, $(steps.NAME.results.RESULT);
// array and object results (with [ or a further dot) do not match and stay as written.
var stepResultRef = regexp.MustCompile(`\$\(steps\.([^.()]+)\.results\.([^.()\[\]]+)\)`)

// stepResultPattern matches any step result reference, as Tekton's entrypoint finds them.
var stepResultPattern = regexp.MustCompile(`\$\(steps\..*?\.results\..*?\)`)

// substituteStepResults replaces the step result references in s as the entrypoint does
// at run time (pkg/entrypoint applyStepResultSubstitutions), loading each with load.
func substituteStepResults(s string, load func(step, result string) (string, error)) (string, error) {
	var firstErr error
	out := stepResultPattern.ReplaceAllStringFunc(s, func(ref string) string {
		if firstErr != nil {
			return ref
		}
		m := stepResultRef.FindStringSubmatch(ref)
		if m == nil || m[0] != ref {
			firstErr = fmt.Errorf("step result reference %s: only string results are %w", ref, errUnsupported)
			return ref
		}
		v, err := load(m[1], m[2])
		if err != nil {
			firstErr = err
			return ref
		}
		return v
	})
	if firstErr != nil {
		return s, firstErr
	}
	return out, nil
}
