package tektontest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/result"
	"github.com/tektoncd/pipeline/pkg/termination"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
)

const (
	// readyFile is what Tekton's first step waits for when the pod may have sidecars: the
	// downward-API projection of the tekton.dev/ready annotation, which the controller sets
	// once the pod runs and its sidecars are ready.
	readyFile       = "/tekton/downward/ready"
	readyAnnotation = "tekton.dev/ready"
	// stepsVolume is the volume Tekton mounts at /tekton/steps.
	stepsVolume = "tekton-internal-steps"
	// kubeconfigPath is where a step finds the kubeconfig the runner gives it (KUBECONFIG):
	// the log front's address and the pod's own service-account token file.
	kubeconfigPath = "/var/run/pod-runner/kubeconfig"
	tokenPath      = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	// maxLog bounds the output kept per container.
	maxLog = 8 << 20
	// maxMessage is the kubelet's limit on a termination message.
	maxMessage = 4096
	// timeFormat is the entrypoint's format of StartedAt (pkg/entrypoint).
	timeFormat = "2006-01-02T15:04:05.000Z07:00"
)

// imageEnv is the environment of a ko-built image (distroless static base, KO_DATA_PATH).
func imageEnv() []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: "PATH", Value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{Name: "SSL_CERT_FILE", Value: "/etc/ssl/certs/ca-certificates.crt"},
		{Name: "KO_DATA_PATH", Value: "/var/run/ko"},
	}
}

// podRun is one pod being run.
type podRun struct {
	r       *Runner
	pod     *corev1.Pod // as first seen; the status is ours
	dir     string
	keys    *keyLookup
	updated chan struct{}
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{} // closed when run returns: no step of the pod runs any more
	argo    bool          // a pod of an Argo Workflow, not of a TaskRun

	volumes   map[string]string // volume name -> host path
	steps     []*step
	stepIndex map[string]int // container name -> index
	status    corev1.PodStatus

	mu  sync.Mutex
	rec PodRecord
}

// step is one step container and what its entrypoint was told.
type step struct {
	c     *corev1.Container
	ep    *entrypointArgs
	env   *envList
	start time.Time
	rec   ContainerRecord
}

func newPodRun(r *Runner, pod *corev1.Pod) *podRun {
	return &podRun{
		r: r, pod: pod,
		dir:     filepath.Join(r.dir, "pods", pod.Namespace, pod.Name+"-"+string(pod.UID)),
		keys:    newKeyLookup(r.kube, pod.Namespace),
		updated: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		argo:    isArgoPod(pod),
		rec:     PodRecord{Namespace: pod.Namespace, Name: pod.Name, TaskRun: pod.Labels[taskRunLabel], Workflow: pod.Labels[argoWorkflowLabel], Started: time.Now()},
	}
}

// notify says the pod changed (the controller's ready annotation, for one).
func (p *podRun) notify() {
	select {
	case p.updated <- struct{}{}:
	default:
	}
}

// kill stops the pod's steps: it was deleted.
func (p *podRun) kill() { p.stopped.Do(func() { close(p.stop) }) }

func (p *podRun) record() PodRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := p.rec
	rec.Containers = append([]ContainerRecord(nil), rec.Containers...)
	return rec
}

func (p *podRun) String() string { return "pod " + p.pod.Namespace + "/" + p.pod.Name }

// run runs the pod to its end and reports the runner's own failures.
func (p *podRun) run(ctx context.Context) {
	defer close(p.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := p.execute(ctx)
	if err == nil || ctx.Err() != nil {
		return
	}
	owner := "TaskRun " + p.rec.TaskRun
	if p.argo {
		owner = "Workflow " + p.rec.Workflow
	}
	err = fmt.Errorf("pod runner: %s (%s): %w", p, owner, err)
	p.r.fail(err)
	p.mu.Lock()
	p.rec.Err = err
	p.mu.Unlock()
	if p.status.Phase == corev1.PodRunning {
		// Fail what has not finished, as the kubelet does with a container it cannot
		// start (StartError, exit code 128), so the TaskRun ends now with the cause.
		for i := range p.status.ContainerStatuses {
			cs := &p.status.ContainerStatuses[i]
			if cs.State.Terminated == nil {
				now := metav1.Now()
				cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now, ContainerID: cs.ContainerID,
				}}
				cs.Ready = false
			}
		}
		p.status.Phase = corev1.PodFailed
		if werr := p.writeStatus(ctx); werr != nil {
			p.r.fail(werr)
		}
	}
}

func (p *podRun) execute(ctx context.Context) error {
	now := metav1.Now()
	p.status = corev1.PodStatus{Phase: corev1.PodPending, HostIP: "127.0.0.1", PodIP: "127.0.0.1", StartTime: &now,
		HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}, PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}}}
	if err := p.prepare(ctx); err != nil {
		// The kubelet cannot start such containers: CreateContainerConfigError, which
		// Tekton turns into a failed TaskRun at once.
		p.status.ContainerStatuses = nil
		for _, c := range p.pod.Spec.Containers {
			p.status.ContainerStatuses = append(p.status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}},
			})
		}
		if werr := p.writeStatus(ctx); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	if p.argo {
		return p.executeArgo(ctx)
	}
	p.setRunning()
	if err := p.writeStatus(ctx); err != nil {
		return err
	}
	failed := false
	for i, s := range p.steps {
		if i == 0 && len(s.ep.WaitFiles) > 0 {
			if err := p.waitReady(ctx); err != nil {
				return err
			}
		}
		state, err := p.runStep(ctx, s, failed)
		if err != nil {
			return fmt.Errorf("step %s: %w", s.c.Name, err)
		}
		if state.ExitCode != 0 {
			failed = true
		}
		p.setTerminated(s, state)
		if err := p.writeStatus(ctx); err != nil {
			return err
		}
	}
	p.status.Phase = corev1.PodSucceeded
	if failed {
		p.status.Phase = corev1.PodFailed
	}
	p.completeConditions()
	return p.writeStatus(ctx)
}

// completeConditions marks the pod no longer ready: its containers have all ended.
func (p *podRun) completeConditions() {
	for i := range p.status.Conditions {
		if t := p.status.Conditions[i].Type; t == corev1.PodReady || t == corev1.ContainersReady {
			p.status.Conditions[i].Status, p.status.Conditions[i].Reason = corev1.ConditionFalse, "PodCompleted"
		}
	}
}

// prepare checks every container, makes the volumes and resolves the environments.
func (p *podRun) prepare(ctx context.Context) error {
	if err := mkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	steps := p.tektonSteps
	if p.argo {
		steps = p.argoSteps
	}
	var err error
	if p.steps, err = steps(); err != nil {
		return err
	}
	if len(p.steps) == 0 {
		return errors.New("the pod has no step containers")
	}
	p.volumes = map[string]string{}
	for _, v := range p.pod.Spec.Volumes {
		dir, err := p.realizeVolume(ctx, v)
		if err != nil {
			return err
		}
		p.volumes[v.Name] = dir
	}
	// What the prepare init container (entrypoint init) does besides copying the
	// entrypoint: /tekton/steps/step-NAME and /tekton/steps/INDEX link to each step's
	// /tekton/run/INDEX/status.
	p.stepIndex = map[string]int{}
	for i, s := range p.steps {
		p.stepIndex[s.c.Name] = i
		if dir, ok := p.volumes[stepsVolume]; ok {
			target := path.Join("/tekton/run", strconv.Itoa(i), "status")
			for _, link := range []string{s.c.Name, strconv.Itoa(i)} {
				if err := os.Symlink(target, filepath.Join(dir, link)); err != nil && !os.IsExist(err) {
					return err
				}
			}
		}
	}
	for _, s := range p.steps {
		for _, vm := range s.c.VolumeMounts {
			if _, ok := p.volumes[vm.Name]; !ok {
				return fmt.Errorf("container %s mounts volume %s, which the pod does not have", s.c.Name, vm.Name)
			}
			if vm.SubPathExpr != "" {
				return fmt.Errorf("container %s: subPathExpr is %w", s.c.Name, errUnsupported)
			}
		}
		base := append(imageEnv(), corev1.EnvVar{Name: "HOSTNAME", Value: p.pod.Name}, corev1.EnvVar{Name: "KUBECONFIG", Value: kubeconfigPath})
		env, err := containerEnv(ctx, p.keys, p.pod, s.c, base)
		if err != nil {
			return fmt.Errorf("container %s: %w", s.c.Name, err)
		}
		s.env = env
	}
	return nil
}

// tektonSteps checks the containers of a TaskRun's pod: each a step whose entrypoint waits
// for the one before it.
func (p *podRun) tektonSteps() ([]*step, error) {
	var steps []*step
	for i := range p.pod.Spec.Containers {
		c := &p.pod.Spec.Containers[i]
		if !strings.HasPrefix(c.Name, "step-") {
			return nil, fmt.Errorf("container %s: sidecars are %w", c.Name, errUnsupported)
		}
		ep, err := parseEntrypoint(c.Command, c.Args)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Name, err)
		}
		if _, ok := p.r.opts.Commands[ep.Command[0]]; !ok {
			return nil, fmt.Errorf("container %s (image %s) runs %s, which has no local stand-in: %w (RunnerOptions.Commands)", c.Name, c.Image, ep.Command[0], errUnsupported)
		}
		if i > 0 && (len(ep.WaitFiles) != 1 || ep.WaitFiles[0] != steps[i-1].ep.PostFile) {
			return nil, fmt.Errorf("container %s waits for %q, not for the previous step's %s: %w", c.Name, ep.WaitFiles, steps[i-1].ep.PostFile, errUnsupported)
		}
		if i == 0 && len(ep.WaitFiles) > 0 && (len(ep.WaitFiles) != 1 || ep.WaitFiles[0] != readyFile) {
			return nil, fmt.Errorf("container %s waits for %q: %w", c.Name, ep.WaitFiles, errUnsupported)
		}
		steps = append(steps, &step{c: c, ep: ep, rec: ContainerRecord{Name: c.Name}})
	}
	return steps, nil
}

// writeKubeconfig writes the step's kubeconfig: the runner's cluster address, the pod's
// namespace and, when the container has the service-account token mounted, that token
// file: what in-cluster configuration would use, pointed at the test's front.
func (p *podRun) writeKubeconfig(s *step, file string) error {
	cfg := &rest.Config{Host: p.r.opts.Cluster.Host, TLSClientConfig: rest.TLSClientConfig{CAData: p.r.opts.Cluster.CAData}}
	for _, vm := range s.c.VolumeMounts {
		if path.Clean(vm.MountPath) == path.Dir(tokenPath) {
			cfg.BearerTokenFile = tokenPath
		}
	}
	return controlplane.WriteKubeconfig(cfg, file, p.pod.Namespace)
}

// setRunning marks the init containers done and every container running: all the
// containers of a pod start at once; Tekton's entrypoint makes each step wait for its turn.
func (p *podRun) setRunning() {
	now := metav1.Now()
	started := true
	p.status.Phase = corev1.PodRunning
	p.status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	p.status.InitContainerStatuses = nil
	for _, c := range p.pod.Spec.InitContainers {
		p.status.InitContainerStatuses = append(p.status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: p.containerID(c.Name),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now, ContainerID: p.containerID(c.Name),
			}},
		})
	}
	p.status.ContainerStatuses = nil
	for _, s := range p.steps {
		s.start = now.Time
	}
	for _, c := range p.pod.Spec.Containers {
		p.status.ContainerStatuses = append(p.status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: p.containerID(c.Name),
			Ready: true, Started: &started,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
}

func (p *podRun) setTerminated(s *step, state *corev1.ContainerStateTerminated) {
	for i := range p.status.ContainerStatuses {
		cs := &p.status.ContainerStatuses[i]
		if cs.Name == s.c.Name {
			started := false
			cs.State = corev1.ContainerState{Terminated: state}
			cs.Ready, cs.Started = false, &started
		}
	}
	p.mu.Lock()
	p.rec.Containers = append(p.rec.Containers, s.rec)
	p.mu.Unlock()
}

func (p *podRun) containerID(name string) string {
	return "pod-runner://" + string(p.pod.UID) + "/" + name
}

// writeStatus writes the status we hold to the pod, as the kubelet does.
func (p *podRun) writeStatus(ctx context.Context) error {
	p.mu.Lock()
	p.rec.Phase = p.status.Phase
	p.mu.Unlock()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := p.r.kube.CoreV1().Pods(p.pod.Namespace).Get(ctx, p.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod.Status = *p.status.DeepCopy()
		_, err = p.r.kube.CoreV1().Pods(p.pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{FieldManager: "pod-runner"})
		return err
	})
	if apierrors.IsNotFound(err) || ctx.Err() != nil {
		return ctx.Err() // deleted: nothing left to report to
	}
	if err != nil {
		return fmt.Errorf("writing the status of %s: %w", p, err)
	}
	return nil
}

// waitReady waits for the controller's ready annotation, then projects it into the
// downward-API volume, as the kubelet does.
func (p *podRun) waitReady(ctx context.Context) error {
	for {
		pod, err := p.r.lister.Pods(p.pod.Namespace).Get(p.pod.Name)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if pod != nil && pod.Annotations[readyAnnotation] == "READY" {
			p.pod.Annotations = pod.Annotations
			for _, v := range p.pod.Spec.Volumes {
				if v.DownwardAPI != nil {
					if _, err := p.realizeVolume(ctx, v); err != nil {
						return err
					}
				}
			}
			return nil
		}
		select {
		case <-p.updated:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// runStep runs one step as Tekton's entrypoint would in its container, and returns the
// container's terminated state. skip says an earlier step failed: the entrypoint then
// skips the command. An error is the runner's failure, not the step's.
func (p *podRun) runStep(ctx context.Context, s *step, skip bool) (*corev1.ContainerStateTerminated, error) {
	terminationFile := filepath.Join(p.dir, "termination", s.c.Name)
	if err := mkdirAll(filepath.Dir(terminationFile), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(terminationFile, nil, 0o666); err != nil {
		return nil, err
	}
	if err := os.Chmod(terminationFile, 0o666); err != nil {
		return nil, err
	}
	mounts, err := p.mounts(s, terminationFile)
	if err != nil {
		return nil, err
	}
	host := func(containerPath string) (string, error) { return hostPath(mounts, containerPath) }
	internal := func(kind string) result.RunResult {
		return result.RunResult{Key: kind, ResultType: result.InternalTektonResultType}
	}
	reason := func(r string) result.RunResult { rr := internal("Reason"); rr.Value = r; return rr }

	began := time.Now()
	var (
		output   []result.RunResult
		exitCode int
		failed   bool // the post file gets .err: later steps are skipped
		ran      bool
		log      bytes.Buffer
	)
	if s.ep.StepMetadataDir != "" {
		for _, d := range []string{"results", "artifacts"} {
			if err := mkdirHost(host, path.Join(s.ep.StepMetadataDir, d)); err != nil {
				return nil, err
			}
		}
	}
	startedAt := internal("StartedAt")
	startedAt.Value = time.Now().Format(timeFormat)
	output = append(output, startedAt)
	switch allowed, err := p.allowed(s, mounts, &log); {
	case err != nil:
		return nil, err
	case skip:
		// The entrypoint found the previous step's post file with .err: it writes one too,
		// reports StartedAt and Reason Skipped, and exits 1.
		output = append(output, reason("Skipped"))
		exitCode, failed = 1, true
		s.rec.Skipped = true
		log.WriteString("Skipping step because a previous step failed\n")
	case !allowed:
		// The step's when expressions are false: skipped, and a success.
		output = append(output, reason("Skipped"))
		s.rec.Skipped = true
		log.WriteString("Step was skipped due to when expressions were evaluated to false.\n")
		if err := writeExitCode(host, s.ep.StepMetadataDir, "0"); err != nil {
			return nil, err
		}
	default:
		ran = true
		var timedOut bool
		exitCode, timedOut, err = p.exec(ctx, s, mounts, &log)
		if err != nil {
			return nil, err
		}
		switch {
		case timedOut:
			output = append(output, reason("TimeoutExceeded"))
			exitCode, failed = 1, true
		case exitCode != 0 && s.ep.OnError == "continue":
			code := internal("ExitCode")
			code.Value = strconv.Itoa(exitCode)
			output = append(output, code)
			if err := writeExitCode(host, s.ep.StepMetadataDir, code.Value); err != nil {
				return nil, err
			}
			exitCode = 0
		case exitCode != 0:
			failed = true
		default:
			if err := writeExitCode(host, s.ep.StepMetadataDir, "0"); err != nil {
				return nil, err
			}
		}
	}
	if s.ep.PostFile != "" {
		post := s.ep.PostFile
		if failed {
			post += ".err"
		}
		if err := writeHostFile(host, post, ""); err != nil {
			return nil, err
		}
	}
	// Results first, then the entrypoint's own entries, each written as the entrypoint
	// writes them (pkg/termination appends to what the file holds).
	write := termination.WriteMessage
	if s.ep.Compress {
		write = termination.WriteCompressedMessage
	}
	if ran {
		res, err := readResults(host, "/tekton/results", s.ep.Results, result.TaskRunResultType)
		if err != nil {
			return nil, err
		}
		steps, err := readResults(host, path.Join(s.ep.StepMetadataDir, "results"), s.ep.StepResults, result.StepResultType)
		if err != nil {
			return nil, err
		}
		if res = append(res, steps...); len(res) > 0 {
			if err := write(terminationFile, res); err != nil {
				// The entrypoint fails the step: "Termination message is above max allowed size 4096".
				fmt.Fprintf(&log, "%v\n", err)
				exitCode = 1
			}
		}
	}
	if err := write(terminationFile, output); err != nil {
		fmt.Fprintf(&log, "%v\n", err)
		exitCode = 1
	}
	message, err := readMessage(terminationFile)
	if err != nil {
		return nil, err
	}
	finished := metav1.Now()
	state := &corev1.ContainerStateTerminated{
		ExitCode: int32(exitCode), Reason: "Completed", Message: message,
		StartedAt: metav1.NewTime(s.start), FinishedAt: finished, ContainerID: p.containerID(s.c.Name),
	}
	if exitCode != 0 {
		state.Reason = "Error"
	}
	s.rec.ExitCode, s.rec.Duration, s.rec.Message, s.rec.Log = int32(exitCode), time.Since(began), message, log.String()
	if p.r.opts.PodLogs != nil {
		p.r.opts.PodLogs(p.pod.Namespace, p.pod.Name, s.c.Name, log.Bytes())
	}
	return state, nil
}

// allowed substitutes earlier steps' results into the step's environment, command and
// when expressions, as the entrypoint does before it runs the command (a failed
// substitution is logged and the rest left as written, as there), and evaluates the when
// expressions.
func (p *podRun) allowed(s *step, mounts []shimMount, log io.Writer) (bool, error) {
	load := func(stepName, resultName string) (string, error) {
		i, ok := p.stepIndex["step-"+stepName]
		if !ok {
			return "", fmt.Errorf("step %q does not exist", stepName)
		}
		file, err := hostPath(mounts, path.Join("/tekton/run", strconv.Itoa(i), "status", "results", resultName))
		if err != nil {
			return "", err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("open /tekton/steps/step-%s/results/%s: %w", stepName, resultName, errors.Unwrap(err))
		}
		var v pipelinev1.ResultValue
		if err := v.UnmarshalJSON(data); err != nil {
			return "", err
		}
		if v.Type != pipelinev1.ParamTypeString {
			return "", fmt.Errorf("step result %s of step %s is an %s: %w", resultName, stepName, v.Type, errUnsupported)
		}
		return v.StringVal, nil
	}
	substitute := func() error {
		for _, kv := range s.env.environ() {
			name, value, _ := strings.Cut(kv, "=")
			v, err := substituteStepResults(value, load)
			if err != nil {
				return err
			}
			s.env.set(name, v)
		}
		for i, w := range s.ep.When {
			v, err := substituteStepResults(w.Input, load)
			if err != nil {
				return err
			}
			s.ep.When[i].Input = v
			for j, value := range w.Values {
				v, err := substituteStepResults(value, load)
				if err != nil {
					return err
				}
				s.ep.When[i].Values[j] = v
			}
		}
		for i, a := range s.ep.Command {
			v, err := substituteStepResults(a, load)
			if err != nil {
				return err
			}
			s.ep.Command[i] = v
		}
		return nil
	}
	if err := substitute(); err != nil {
		if errors.Is(err, errUnsupported) {
			return false, err
		}
		fmt.Fprintf(log, "Error while substituting step results: %v\n", err)
	}
	return s.ep.When.AllowsExecution(nil), nil
}

// mounts lists the container's volume mounts as host paths, plus what the kubelet and the
// image add: the termination-message file, the stand-in binary and the kubeconfig.
func (p *podRun) mounts(s *step, terminationFile string) ([]shimMount, error) {
	var mounts []shimMount
	for _, vm := range s.c.VolumeMounts {
		src := p.volumes[vm.Name]
		if vm.SubPath != "" {
			src = filepath.Join(src, filepath.FromSlash(vm.SubPath))
			if !strings.HasPrefix(src, p.volumes[vm.Name]+string(filepath.Separator)) {
				return nil, fmt.Errorf("container %s: subPath %q leaves volume %s", s.c.Name, vm.SubPath, vm.Name)
			}
			if _, err := os.Stat(src); os.IsNotExist(err) {
				if err := mkdirAll(src, 0o777); err != nil { // the kubelet makes missing subPaths
					return nil, err
				}
			}
		}
		mounts = append(mounts, shimMount{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	tmp := s.c.TerminationMessagePath
	if tmp == "" {
		tmp = corev1.TerminationMessagePathDefault
	}
	kubeconfig := filepath.Join(p.dir, "kubeconfig", s.c.Name)
	if err := mkdirAll(filepath.Dir(kubeconfig), 0o755); err != nil {
		return nil, err
	}
	if err := p.writeKubeconfig(s, kubeconfig); err != nil {
		return nil, err
	}
	if err := os.Chmod(kubeconfig, 0o644); err != nil { // readable by the step's user
		return nil, err
	}
	mounts = append(mounts,
		shimMount{Source: terminationFile, Target: tmp},
		shimMount{Source: p.r.opts.Commands[s.ep.Command[0]], Target: s.ep.Command[0], ReadOnly: true},
		shimMount{Source: kubeconfig, Target: kubeconfigPath, ReadOnly: true},
	)
	if info, err := os.Stat("/etc/ssl/certs"); err == nil && info.IsDir() {
		mounts = append(mounts, shimMount{Source: "/etc/ssl/certs", Target: "/etc/ssl/certs", ReadOnly: true})
	}
	for _, dev := range []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"} {
		mounts = append(mounts, shimMount{Source: dev, Target: dev})
	}
	return mounts, nil
}

// hostPath maps a container path to the host through the container's mounts (the deepest
// mount holding it); paths outside every mount live in the container's own root and are
// gone with it.
func hostPath(mounts []shimMount, containerPath string) (string, error) {
	containerPath = path.Clean(containerPath)
	best := -1
	for i, m := range mounts {
		t := path.Clean(m.Target)
		if containerPath == t || strings.HasPrefix(containerPath, strings.TrimSuffix(t, "/")+"/") {
			if best < 0 || len(t) > len(path.Clean(mounts[best].Target)) {
				best = i
			}
		}
	}
	if best < 0 {
		return "", fmt.Errorf("%s is on no volume of the container, so the runner cannot reach it: %w", containerPath, errUnsupported)
	}
	rel := strings.TrimPrefix(containerPath, path.Clean(mounts[best].Target))
	return filepath.Join(mounts[best].Source, filepath.FromSlash(rel)), nil
}

// mkdirHost makes a directory at a container path, writable by any step user.
func mkdirHost(host func(string) (string, error), containerPath string) error {
	p, err := host(containerPath)
	if err != nil {
		return err
	}
	return mkdirAll(p, 0o777)
}

// writeExitCode writes the step's exitCode file into its metadata directory, if it has one.
func writeExitCode(host func(string) (string, error), metadataDir, code string) error {
	if metadataDir == "" {
		return nil
	}
	return writeHostFile(host, path.Join(metadataDir, "exitCode"), code)
}

// writeHostFile writes a file at a container path, through the container's mounts.
func writeHostFile(host func(string) (string, error), containerPath, content string) error {
	p, err := host(containerPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o666)
}

// readResults reads the result files that exist among names in dir (a container path).
func readResults(host func(string) (string, error), dir string, names []string, typ result.ResultType) ([]result.RunResult, error) {
	if len(names) == 0 {
		return nil, nil
	}
	hostDir, err := host(dir)
	if err != nil {
		return nil, err
	}
	var out []result.RunResult
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(hostDir, n))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading result %s: %w", n, err)
		}
		out = append(out, result.RunResult{Key: n, Value: string(data), ResultType: typ})
	}
	return out, nil
}

// readMessage reads a termination message as the kubelet does: at most 4096 bytes.
func readMessage(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMessage))
	return string(data), err
}

// exec runs the step's command through the shim and returns its exit code, or timedOut.
func (p *podRun) exec(ctx context.Context, s *step, mounts []shimMount, log *bytes.Buffer) (exitCode int, timedOut bool, err error) {
	spec, err := p.shimSpec(s, mounts)
	if err != nil {
		return 0, false, err
	}
	specFile := filepath.Join(p.dir, "specs", s.c.Name+".json")
	if err := mkdirAll(filepath.Dir(specFile), 0o755); err != nil {
		return 0, false, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return 0, false, err
	}
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		return 0, false, err
	}
	if err := mkdirAll(spec.Root, 0o755); err != nil {
		return 0, false, err
	}
	errRead, errWrite, err := os.Pipe()
	if err != nil {
		return 0, false, err
	}
	defer errRead.Close()

	out := &limitedBuffer{buf: log, max: maxLog}
	var stdout, stderr io.Writer = out, out
	for _, redirect := range []struct {
		path string
		w    *io.Writer
	}{{s.ep.StdoutPath, &stdout}, {s.ep.StderrPath, &stderr}} {
		if redirect.path == "" {
			continue
		}
		hp, err := hostPath(mounts, redirect.path)
		if err != nil {
			errWrite.Close()
			return 0, false, err
		}
		if err := os.MkdirAll(filepath.Dir(hp), 0o777); err != nil {
			errWrite.Close()
			return 0, false, err
		}
		f, err := os.Create(hp)
		if err != nil {
			errWrite.Close()
			return 0, false, err
		}
		defer f.Close()
		*redirect.w = io.MultiWriter(out, f)
	}
	cmd := exec.Command(p.r.opts.Shim)
	cmd.Env = []string{envShim + "=" + specFile}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{errWrite} // fd 3: shimErrFD
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS, // Go also makes / private in the child
		Setpgid:      true,
		Pdeathsig:    syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		errWrite.Close()
		return 0, false, fmt.Errorf("starting the step shim: %w", err)
	}
	errWrite.Close()
	startErr := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(errRead)
		startErr <- string(b)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timeout <-chan time.Time
	if s.ep.Timeout > 0 {
		t := time.NewTimer(s.ep.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var waitErr error
	select {
	case waitErr = <-done:
	case <-timeout:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return 137, true, nil
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return 0, false, ctx.Err()
	}
	if msg := <-startErr; msg != "" {
		return 0, false, fmt.Errorf("container %s could not start: %s", s.c.Name, msg)
	}
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
		return 0, false, nil
	case errors.As(waitErr, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), false, nil
		}
		return exit.ExitCode(), false, nil
	default:
		return 0, false, fmt.Errorf("waiting for container %s: %w", s.c.Name, waitErr)
	}
}

// shimSpec describes the container: the image's files (a distroless-like root), the mounts,
// the user and the command with $(VAR) expanded.
func (p *podRun) shimSpec(s *step, mounts []shimMount) (*shimSpec, error) {
	uid, gid := int64(DefaultUser), int64(DefaultUser)
	var groups []uint32
	if psc := p.pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			uid = *psc.RunAsUser
		}
		if psc.RunAsGroup != nil {
			gid = *psc.RunAsGroup
		}
		for _, g := range psc.SupplementalGroups {
			groups = append(groups, uint32(g))
		}
		if psc.FSGroup != nil {
			groups = append(groups, uint32(*psc.FSGroup))
		}
	}
	nonRoot := false
	if psc := p.pod.Spec.SecurityContext; psc != nil && psc.RunAsNonRoot != nil {
		nonRoot = *psc.RunAsNonRoot
	}
	readOnlyRoot := false
	if sc := s.c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = *sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = *sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if sc.Privileged != nil && *sc.Privileged {
			return nil, fmt.Errorf("container %s: privileged containers are %w", s.c.Name, errUnsupported)
		}
		readOnlyRoot = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	}
	if nonRoot && uid == 0 {
		return nil, fmt.Errorf("container %s has runAsNonRoot and would run as root (uid 0)", s.c.Name)
	}
	env := newEnvList()
	for _, kv := range s.env.environ() {
		name, value, _ := strings.Cut(kv, "=")
		env.set(name, value)
	}
	home := "/home/nonroot"
	if uid == 0 {
		home = "/root"
	}
	if _, ok := env.lookup("HOME"); !ok { // container runtimes set HOME from /etc/passwd
		env.set("HOME", home)
	}
	var args []string
	for _, a := range s.ep.Command {
		args = append(args, expand(a, s.env.lookup))
	}
	s.rec.Command = args
	return &shimSpec{
		Root: filepath.Join(p.dir, "roots", s.c.Name),
		Dirs: []shimDir{
			{Path: "/tmp", Mode: 0o777 | os.ModeSticky},
			{Path: "/root", Mode: 0o700},
			{Path: "/home/nonroot", Mode: 0o700, UID: DefaultUser, GID: DefaultUser},
			{Path: "/var/run/ko", Mode: 0o755},
		},
		Files: []shimFile{
			{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
			{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnonroot:x:65532:\n")},
			{Path: "/etc/hosts", Mode: 0o644, Data: []byte("127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t" + p.pod.Name + "\n")},
			{Path: "/etc/hostname", Mode: 0o644, Data: []byte(p.pod.Name + "\n")},
		},
		Mounts:       mounts,
		ReadOnlyRoot: readOnlyRoot,
		WorkingDir:   s.c.WorkingDir,
		UID:          uint32(uid),
		GID:          uint32(gid),
		Groups:       groups,
		Path:         args[0],
		ParentPID:    os.Getpid(),
		Args:         args,
		Env:          env.environ(),
	}, nil
}

// limitedBuffer keeps the first max bytes written and counts the rest.
type limitedBuffer struct {
	mu      sync.Mutex
	buf     *bytes.Buffer
	max     int
	dropped int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - b.buf.Len()
	if room < len(p) {
		if room > 0 {
			b.buf.Write(p[:room])
		}
		b.dropped += len(p) - max(room, 0)
		return len(p), nil
	}
	return b.buf.Write(p)
}
