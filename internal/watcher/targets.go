package watcher

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// TargetSpec is one place PipelineRuns are started: a cluster (by kubeconfig) and namespace.
type TargetSpec struct {
	// Name identifies the target in claims, metrics and logs (a DNS label).
	Name string `json:"name"`
	// Kubeconfig is the path of a kubeconfig file (e.g. a mounted Secret); empty: the
	// watcher's own cluster.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Namespace is where the PipelineRuns are made.
	Namespace string `json:"namespace"`
	// MaxConcurrent is how many of our PipelineRuns may run there at once.
	MaxConcurrent int `json:"max_concurrent"`
	// Enabled false: nothing new is placed there (queued runs still start).
	Enabled *bool `json:"enabled,omitempty"`
}

// IsEnabled reports Enabled, true when unset.
func (t *TargetSpec) IsEnabled() bool { return t.Enabled == nil || *t.Enabled }

// targetsFile is the YAML of --targets-file.
type targetsFile struct {
	Targets []TargetSpec `json:"targets"`
}

// LoadTargets reads and checks a targets file.
func LoadTargets(path string) ([]TargetSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the targets file (fix --targets-file or THOTH_TARGETS_FILE): %w", err)
	}
	specs, err := ParseTargets(data)
	if err != nil {
		return nil, fmt.Errorf("targets file %s: %w", path, err)
	}
	return specs, nil
}

// ParseTargets decodes and checks the YAML of a targets file; unknown fields are errors.
func ParseTargets(data []byte) ([]TargetSpec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("it is empty: list at least one target under \"targets\"")
	}
	var f targetsFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, err
	}
	if len(f.Targets) == 0 {
		return nil, errors.New("no targets: list at least one under \"targets\"")
	}
	seen := map[string]bool{}
	for i, t := range f.Targets {
		where := fmt.Sprintf("targets[%d]", i)
		if t.Name != "" {
			where += " (" + t.Name + ")"
		}
		if errs := validation.IsDNS1123Label(t.Name); len(errs) > 0 {
			return nil, fmt.Errorf("%s: name %q: %s", where, t.Name, strings.Join(errs, "; "))
		}
		if t.Name == LocalTarget {
			return nil, fmt.Errorf("%s: the name %q is reserved for the local executor", where, LocalTarget)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("%s: name %q is used twice", where, t.Name)
		}
		seen[t.Name] = true
		if errs := validation.IsDNS1123Label(t.Namespace); len(errs) > 0 {
			return nil, fmt.Errorf("%s: namespace %q: %s", where, t.Namespace, strings.Join(errs, "; "))
		}
		if t.MaxConcurrent < 1 {
			return nil, fmt.Errorf("%s: max_concurrent must be at least 1, not %d", where, t.MaxConcurrent)
		}
	}
	return f.Targets, nil
}

// LocalTarget names the in-process executor in claims.
const LocalTarget = "local"
