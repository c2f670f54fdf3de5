package tektonyaml

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Annotation and label keys of the Tekton catalog (TEP-0003, catlin) that Artifact Hub
// reads.
const (
	VersionLabel          = "app.kubernetes.io/version"
	MinVersionAnnotation  = "tekton.dev/pipelines.minVersion"
	CategoriesAnnotation  = "tekton.dev/categories"
	TagsAnnotation        = "tekton.dev/tags"
	DisplayNameAnnotation = "tekton.dev/displayName"
	PlatformsAnnotation   = "tekton.dev/platforms"
)

// KoPrefix starts the image references that ko resolves at release time.
const KoPrefix = "ko://"

// HubCategories are the categories a catalog resource may name, the list catlin checks
// against (tektoncd/hub config.yaml).
func HubCategories() []string {
	return []string{
		"Automation", "Build Tools", "CLI", "Cloud", "Code Quality", "Continuous Integration",
		"Deployment", "Developer Tools", "Image Build", "Integration & Delivery", "Git",
		"Kubernetes", "Messaging", "Monitoring", "Networking", "Openshift", "Publishing",
		"Security", "Storage", "Testing",
	}
}

// Problem is one rule broken by one document, at one field.
type Problem struct {
	// Rule is the name of the rule broken.
	Rule string
	// Doc is the document breaking it.
	Doc *Document
	// Field is the path of the offending field, such as spec.params[2].description.
	Field string
	// Msg says what is wrong and what to do.
	Msg string
}

// Error makes a Problem an error: file, document, field, message and rule.
func (p Problem) Error() string {
	return fmt.Sprintf("%s: %s: %s [%s]", p.Doc, p.Field, p.Msg, p.Rule)
}

// Catalog holds what rules look up across documents: our Tasks by name.
type Catalog struct {
	Tasks map[string]*v1.Task
}

// NewCatalog indexes the Tasks among docs by name; the first of a name wins, so the
// sources in tasks/ take precedence over their copies in catalog/.
func NewCatalog(docs []*Document) *Catalog {
	c := &Catalog{Tasks: map[string]*v1.Task{}}
	for _, d := range docs {
		if t, ok := d.Object.(*v1.Task); ok {
			if _, dup := c.Tasks[t.Name]; !dup {
				c.Tasks[t.Name] = t
			}
		}
	}
	return c
}

// Rule is one check of a document.
type Rule struct {
	// Name names the rule in problems and test cases.
	Name string
	// Scopes the rule applies to; empty means all.
	Scopes []Scope
	// Check returns the document's problems; c may hold Tasks the document refers to.
	Check func(d *Document, c *Catalog) []Problem
}

// Applies reports whether the rule checks documents of scope s.
func (r Rule) Applies(s Scope) bool {
	return len(r.Scopes) == 0 || slices.Contains(r.Scopes, s)
}

// published are the scopes whose Tasks and Pipelines are catalog entries.
var published = []Scope{ScopeTasks, ScopeCatalog}

// Rules returns every rule: catlin's for catalog entries and the project's own.
func Rules() []Rule {
	return []Rule{
		{Name: "version-label", Scopes: published, Check: checkVersionLabel},
		{Name: "min-version", Scopes: published, Check: checkMinVersion},
		{Name: "categories", Scopes: published, Check: checkCategories},
		{Name: "display-name", Scopes: published, Check: checkAnnotationSet(DisplayNameAnnotation)},
		{Name: "tags", Scopes: published, Check: checkAnnotationSet(TagsAnnotation)},
		{Name: "platforms", Scopes: published, Check: checkPlatforms},
		{Name: "description-shape", Scopes: published, Check: checkDescriptionShape},
		{Name: "artifacthub", Scopes: published, Check: checkArtifactHub},
		{Name: "described", Check: checkDescribed},
		{Name: "image-reference", Check: checkImages},
		{Name: "script-substitution", Check: checkScripts},
		{Name: "binary-step", Scopes: published, Check: checkBinarySteps},
		{Name: "step-security", Scopes: published, Check: checkStepSecurity},
		{Name: "credential-params", Check: checkCredentialParams},
		{Name: "task-params-used", Scopes: published, Check: checkTaskParamsUsed},
		{Name: "pipeline-params-used", Check: checkPipelineParamsUsed},
		{Name: "pipeline-references", Check: checkPipelineReferences},
	}
}

// Lint runs every rule that applies on every document.
func Lint(docs []*Document) []Problem {
	c := NewCatalog(docs)
	var out []Problem
	for _, d := range docs {
		for _, r := range Rules() {
			if r.Applies(d.Scope()) {
				out = append(out, r.Check(d, c)...)
			}
		}
	}
	return out
}

// LintRule runs one rule, by name, on one document, whatever its scope.
func LintRule(rule string, d *Document, c *Catalog) ([]Problem, error) {
	for _, r := range Rules() {
		if r.Name == rule {
			return r.Check(d, c), nil
		}
	}
	return nil, fmt.Errorf("no rule %q", rule)
}

// problems collects the problems of one rule and document.
type problems struct {
	rule string
	doc  *Document
	list []Problem
}

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, Problem{Rule: p.rule, Doc: p.doc, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// resource is a Task or Pipeline: a catalog entry.
type resource struct {
	labels, annotations map[string]string
	description         string
}

func resourceOf(d *Document) (resource, bool) {
	switch o := d.Object.(type) {
	case *v1.Task:
		return resource{o.Labels, o.Annotations, o.Spec.Description}, true
	case *v1.Pipeline:
		return resource{o.Labels, o.Annotations, o.Spec.Description}, true
	}
	return resource{}, false
}

func checkVersionLabel(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "version-label", doc: d}
	if r, ok := resourceOf(d); ok && strings.TrimSpace(r.labels[VersionLabel]) == "" {
		p.add("metadata.labels", "missing label %s: the resource's version (the release sets it)", VersionLabel)
	}
	return p.list
}

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

func checkMinVersion(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "min-version", doc: d}
	r, ok := resourceOf(d)
	if !ok {
		return nil
	}
	v, found := r.annotations[MinVersionAnnotation]
	switch {
	case !found:
		p.add("metadata.annotations", "missing annotation %s: the oldest Tekton Pipelines release with every feature used", MinVersionAnnotation)
	case !semver.MatchString(v):
		p.add("metadata.annotations."+MinVersionAnnotation, "%q is not a version X.Y.Z", v)
	}
	return p.list
}

func checkCategories(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "categories", doc: d}
	r, ok := resourceOf(d)
	if !ok {
		return nil
	}
	v, found := r.annotations[CategoriesAnnotation]
	if !found || strings.TrimSpace(v) == "" {
		p.add("metadata.annotations", "missing annotation %s: one or more of %s", CategoriesAnnotation, strings.Join(HubCategories(), ", "))
		return p.list
	}
	for _, c := range strings.Split(v, ",") {
		if c = strings.TrimSpace(c); !slices.Contains(HubCategories(), c) {
			p.add("metadata.annotations."+CategoriesAnnotation, "category %q is not one of the Hub's: %s", c, strings.Join(HubCategories(), ", "))
		}
	}
	return p.list
}

func checkAnnotationSet(key string) func(*Document, *Catalog) []Problem {
	rule := map[string]string{DisplayNameAnnotation: "display-name", TagsAnnotation: "tags"}[key]
	return func(d *Document, _ *Catalog) []Problem {
		p := &problems{rule: rule, doc: d}
		if r, ok := resourceOf(d); ok && strings.Trim(r.annotations[key], " ,") == "" {
			p.add("metadata.annotations", "missing or empty annotation %s", key)
		}
		return p.list
	}
}

var platform = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+$`)

func checkPlatforms(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "platforms", doc: d}
	r, ok := resourceOf(d)
	if !ok {
		return nil
	}
	list := strings.FieldsFunc(r.annotations[PlatformsAnnotation], func(c rune) bool { return c == ',' || c == ' ' })
	if len(list) == 0 {
		p.add("metadata.annotations", "missing annotation %s, such as \"linux/amd64,linux/arm64\"", PlatformsAnnotation)
	}
	for _, pl := range list {
		if !platform.MatchString(pl) {
			p.add("metadata.annotations."+PlatformsAnnotation, "platform %q is not OS/ARCH, such as linux/amd64", pl)
		}
	}
	return p.list
}

// MaxSummary is the longest summary line a description may start with.
const MaxSummary = 120

func checkDescriptionShape(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "description-shape", doc: d}
	r, ok := resourceOf(d)
	if !ok {
		return nil
	}
	if err := DescriptionShape(r.description); err != nil {
		p.add("spec.description", "%v", err)
	}
	return p.list
}

// DescriptionShape checks the catalog's description convention: a summary line, a blank
// line, then a paragraph. In YAML that is a folded block (>-) whose summary is followed by
// an empty line; decoded, the summary ends at the first newline, optionally followed by
// a second one (a literal block), and the paragraph follows.
func DescriptionShape(s string) error {
	summary, rest, found := strings.Cut(s, "\n")
	switch {
	case strings.TrimSpace(summary) == "":
		return fmt.Errorf("empty summary line: start with one line saying what the resource does")
	case summary != strings.TrimSpace(summary):
		return fmt.Errorf("summary line %q has leading or trailing blanks", summary)
	case len(summary) > MaxSummary:
		return fmt.Errorf("summary line is %d characters, more than %d: keep it to one short line", len(summary), MaxSummary)
	case !found || strings.TrimSpace(rest) == "":
		return fmt.Errorf("no paragraph after the summary line: write spec.description as >- with a summary line, a blank line and a paragraph")
	}
	rest = strings.TrimPrefix(rest, "\n")
	if strings.HasPrefix(rest, "\n") || strings.HasPrefix(rest, " ") {
		return fmt.Errorf("more than one blank line, or an indented line, after the summary")
	}
	return nil
}

func checkDescribed(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "described", doc: d}
	switch o := d.Object.(type) {
	case *v1.Task:
		describedTask(p, "spec", &o.Spec)
	case *v1.Pipeline:
		for i, x := range o.Spec.Params {
			need(p, fmt.Sprintf("spec.params[%d] (%s)", i, x.Name), x.Description)
		}
		for i, x := range o.Spec.Workspaces {
			need(p, fmt.Sprintf("spec.workspaces[%d] (%s)", i, x.Name), x.Description)
		}
		for i, x := range o.Spec.Results {
			need(p, fmt.Sprintf("spec.results[%d] (%s)", i, x.Name), x.Description)
		}
	}
	return p.list
}

func describedTask(p *problems, at string, s *v1.TaskSpec) {
	for i, x := range s.Params {
		need(p, fmt.Sprintf("%s.params[%d] (%s)", at, i, x.Name), x.Description)
	}
	for i, x := range s.Workspaces {
		need(p, fmt.Sprintf("%s.workspaces[%d] (%s)", at, i, x.Name), x.Description)
	}
	for i, x := range s.Results {
		need(p, fmt.Sprintf("%s.results[%d] (%s)", at, i, x.Name), x.Description)
	}
}

func need(p *problems, field, description string) {
	if strings.TrimSpace(description) == "" {
		p.add(field+".description", "no description: say what it is and its format")
	}
}

// taskSpec is a TaskSpec found in a document and where.
type taskSpec struct {
	at   string
	spec *v1.TaskSpec
}

// taskSpecs returns every TaskSpec of a document: a Task's, a TaskRun's inline one, and
// the inline ones of a Pipeline's or PipelineRun's tasks and finally tasks.
func taskSpecs(d *Document) []taskSpec {
	var out []taskSpec
	switch o := d.Object.(type) {
	case *v1.Task:
		out = append(out, taskSpec{"spec", &o.Spec})
	case *v1.TaskRun:
		if o.Spec.TaskSpec != nil {
			out = append(out, taskSpec{"spec.taskSpec", o.Spec.TaskSpec})
		}
	case *v1.Pipeline:
		out = append(out, pipelineTaskSpecs("spec", &o.Spec)...)
	case *v1.PipelineRun:
		if o.Spec.PipelineSpec != nil {
			out = append(out, pipelineTaskSpecs("spec.pipelineSpec", o.Spec.PipelineSpec)...)
		}
	}
	return out
}

func pipelineTaskSpecs(at string, s *v1.PipelineSpec) []taskSpec {
	var out []taskSpec
	for _, l := range []struct {
		field string
		tasks []v1.PipelineTask
	}{{"tasks", s.Tasks}, {"finally", s.Finally}} {
		for i := range l.tasks {
			if ts := l.tasks[i].TaskSpec; ts != nil {
				out = append(out, taskSpec{fmt.Sprintf("%s.%s[%d].taskSpec", at, l.field, i), &ts.TaskSpec})
			}
		}
	}
	return out
}

// pipelineSpecs returns a Pipeline's spec or a PipelineRun's inline one.
func pipelineSpecs(d *Document) (string, *v1.PipelineSpec) {
	switch o := d.Object.(type) {
	case *v1.Pipeline:
		return "spec", &o.Spec
	case *v1.PipelineRun:
		if o.Spec.PipelineSpec != nil {
			return "spec.pipelineSpec", o.Spec.PipelineSpec
		}
	}
	return "", nil
}

// container is a step or sidecar's image and script, and where it is.
type container struct {
	at, name, image, script string
	command                 []string
}

func containers(ts taskSpec) []container {
	var out []container
	for i, s := range ts.spec.Steps {
		out = append(out, container{fmt.Sprintf("%s.steps[%d]", ts.at, i), s.Name, s.Image, s.Script, s.Command})
	}
	for i, s := range ts.spec.Sidecars {
		out = append(out, container{fmt.Sprintf("%s.sidecars[%d]", ts.at, i), s.Name, s.Image, s.Script, s.Command})
	}
	return out
}

func checkImages(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "image-reference", doc: d}
	var all []container
	for _, ts := range taskSpecs(d) {
		all = append(all, containers(ts)...)
	}
	all = append(all, workloadContainers(d)...)
	for _, c := range all {
		if err := ImageReference(c.image, d.Scope()); err != nil {
			p.add(c.at+".image", "%v", err)
		}
	}
	return p.list
}

// workloadContainers returns the containers and init containers of a Pod or of the pod
// template of a Deployment, StatefulSet, DaemonSet, Job or CronJob.
func workloadContainers(d *Document) []container {
	var (
		at   string
		spec *corev1.PodSpec
	)
	switch o := d.Object.(type) {
	case *corev1.Pod:
		at, spec = "spec", &o.Spec
	case *appsv1.Deployment:
		at, spec = "spec.template.spec", &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		at, spec = "spec.template.spec", &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		at, spec = "spec.template.spec", &o.Spec.Template.Spec
	case *batchv1.Job:
		at, spec = "spec.template.spec", &o.Spec.Template.Spec
	case *batchv1.CronJob:
		at, spec = "spec.jobTemplate.spec.template.spec", &o.Spec.JobTemplate.Spec.Template.Spec
	default:
		return nil
	}
	var out []container
	for i, c := range spec.InitContainers {
		out = append(out, container{at: fmt.Sprintf("%s.initContainers[%d]", at, i), name: c.Name, image: c.Image, command: c.Command})
	}
	for i, c := range spec.Containers {
		out = append(out, container{at: fmt.Sprintf("%s.containers[%d]", at, i), name: c.Name, image: c.Image, command: c.Command})
	}
	return out
}

// ImageReference checks a step image as catlin does: tagged with a version or pinned by
// digest, never latest; an image made of variables is not checked. ko:// references
// (built by ko at release) are allowed in tasks/ only.
func ImageReference(img string, s Scope) error {
	switch {
	case img == "":
		return fmt.Errorf("no image")
	case strings.Contains(img, "$("):
		return nil
	case strings.HasPrefix(img, KoPrefix):
		if s != ScopeTasks {
			return fmt.Errorf("%s is a ko:// reference, allowed in tasks/ only: %s must name a published image", img, s)
		}
		if pkg := strings.TrimPrefix(img, KoPrefix); !strings.Contains(pkg, "/") || strings.ContainsAny(pkg, ":@ ") {
			return fmt.Errorf("%s: a ko:// reference names a main package by import path, such as ko://<module>/cmd/<binary>", img)
		}
		return nil
	}
	ref, err := name.ParseReference(img)
	if err != nil {
		return fmt.Errorf("%s is not an image reference: %w", img, err)
	}
	if _, ok := ref.(name.Digest); ok {
		return nil
	}
	// name.ParseReference adds "latest" to an untagged reference: look at what was written.
	repo := img
	if i := strings.LastIndex(img, "/"); i >= 0 {
		repo = img[i:]
	}
	if !strings.Contains(repo, ":") {
		return fmt.Errorf("%s has no tag: give a version tag or a digest", img)
	}
	if strings.Contains(ref.Identifier(), "latest") {
		return fmt.Errorf("%s is tagged %s: give a version tag or a digest", img, ref.Identifier())
	}
	return nil
}

// scriptVariable finds a Tekton variable in a script; resultPath the ones allowed there.
var (
	scriptVariable = regexp.MustCompile(`\$\([^)]*\)`)
	resultPath     = regexp.MustCompile(`^\$\((step\.)?results\.[A-Za-z0-9_-]+\.path\)$`)
)

func checkScripts(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "script-substitution", doc: d}
	for _, ts := range taskSpecs(d) {
		for _, c := range containers(ts) {
			if v := ScriptVariables(c.script); len(v) > 0 {
				p.add(c.at+".script", "Tekton variables %s are pasted into the script, where a value can break it or inject commands: pass them through env and read the variables", strings.Join(v, ", "))
			}
		}
	}
	return p.list
}

// ScriptVariables returns the Tekton variables in a script other than result paths
// ($(results.<name>.path), $(step.results.<name>.path)), which are safe there.
func ScriptVariables(script string) []string {
	var out []string
	for _, v := range scriptVariable.FindAllString(script, -1) {
		if !resultPath.MatchString(v) {
			out = append(out, v)
		}
	}
	return out
}

// koBinary returns <binary> of ko://<module>/cmd/<binary>.
func koBinary(img string) (string, bool) {
	if !strings.HasPrefix(img, KoPrefix) {
		return "", false
	}
	_, bin, ok := strings.Cut(strings.TrimPrefix(img, KoPrefix), "/cmd/")
	return bin, ok && bin != "" && !strings.Contains(bin, "/")
}

func checkBinarySteps(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "binary-step", doc: d}
	t, ok := d.Object.(*v1.Task)
	if !ok {
		return nil
	}
	for _, c := range containers(taskSpec{"spec", &t.Spec}) {
		if c.script != "" {
			p.add(c.at+".script", "a script: run the binary with command and give params through env")
		}
		if len(c.command) != 1 || !strings.HasPrefix(c.command[0], "/ko-app/") {
			p.add(c.at+".command", "%q: run the binary, command: [\"/ko-app/<binary>\"]", c.command)
			continue
		}
		if bin, ok := koBinary(c.image); ok && c.command[0] != "/ko-app/"+bin {
			p.add(c.at+".command", "%q does not run %s, the binary of image %s", c.command[0], bin, c.image)
		}
	}
	return p.list
}

// effectiveSecurity merges a step's securityContext over the stepTemplate's, field by
// field, as Tekton does.
func effectiveSecurity(tmpl *v1.StepTemplate, s *v1.Step) corev1.SecurityContext {
	var sc corev1.SecurityContext
	for _, from := range []*corev1.SecurityContext{templateSecurity(tmpl), s.SecurityContext} {
		if from == nil {
			continue
		}
		if from.RunAsNonRoot != nil {
			sc.RunAsNonRoot = from.RunAsNonRoot
		}
		if from.RunAsUser != nil {
			sc.RunAsUser = from.RunAsUser
		}
		if from.AllowPrivilegeEscalation != nil {
			sc.AllowPrivilegeEscalation = from.AllowPrivilegeEscalation
		}
		if from.Privileged != nil {
			sc.Privileged = from.Privileged
		}
		if from.Capabilities != nil {
			sc.Capabilities = from.Capabilities
		}
		if from.SeccompProfile != nil {
			sc.SeccompProfile = from.SeccompProfile
		}
	}
	return sc
}

func templateSecurity(t *v1.StepTemplate) *corev1.SecurityContext {
	if t == nil {
		return nil
	}
	return t.SecurityContext
}

func effectiveResources(tmpl *v1.StepTemplate, s *v1.Step) corev1.ResourceRequirements {
	r := s.ComputeResources
	if tmpl == nil {
		return r
	}
	merged := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for k, v := range tmpl.ComputeResources.Requests {
		merged.Requests[k] = v
	}
	for k, v := range tmpl.ComputeResources.Limits {
		merged.Limits[k] = v
	}
	for k, v := range r.Requests {
		merged.Requests[k] = v
	}
	for k, v := range r.Limits {
		merged.Limits[k] = v
	}
	return merged
}

func checkStepSecurity(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "step-security", doc: d}
	t, ok := d.Object.(*v1.Task)
	if !ok {
		return nil
	}
	for i := range t.Spec.Steps {
		s := &t.Spec.Steps[i]
		at := fmt.Sprintf("spec.steps[%d] (%s)", i, s.Name)
		sc := effectiveSecurity(t.Spec.StepTemplate, s)
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			p.add(at+".securityContext.runAsNonRoot", "not true: steps run as a non-root user (65532)")
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			p.add(at+".securityContext.runAsUser", "0: steps run as a non-root user (65532)")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.add(at+".securityContext.allowPrivilegeEscalation", "not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			p.add(at+".securityContext.privileged", "true: no step is privileged")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, corev1.Capability("ALL")) || len(sc.Capabilities.Add) > 0 {
			p.add(at+".securityContext.capabilities", "drop ALL and add none")
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.add(at+".securityContext.seccompProfile", "not RuntimeDefault")
		}
		res := effectiveResources(t.Spec.StepTemplate, s)
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := res.Requests[r]; !ok {
				p.add(at+".computeResources.requests", "no %s request", r)
			}
		}
		if _, ok := res.Limits[corev1.ResourceMemory]; !ok {
			p.add(at+".computeResources.limits", "no memory limit")
		}
	}
	return p.list
}

// credentialWords are the words of a param name that suggest a credential.
var credentialWords = []string{"password", "passwd", "pwd", "secret", "token", "key", "apikey", "credential", "credentials", "auth", "cert"}

// CredentialParam reports why a param looks like a credential, or "" when it does not:
// a name with a credential word (password, secret, token, key, ...) is allowed only for a
// boolean switch, a param whose default is "true" or "false" (such as pass-token, which
// only turns the ServiceAccount token on). Credentials come from Secrets, never params.
func CredentialParam(p v1.ParamSpec) string {
	var word string
	for _, w := range strings.FieldsFunc(strings.ToLower(p.Name), func(c rune) bool { return c == '-' || c == '_' || c == '.' }) {
		if slices.Contains(credentialWords, w) {
			word = w
			break
		}
	}
	if word == "" {
		return ""
	}
	if p.Default != nil && p.Default.Type == v1.ParamTypeString && (p.Default.StringVal == "true" || p.Default.StringVal == "false") {
		return ""
	}
	return fmt.Sprintf("the name has %q: a credential must come from a Secret (a workspace or secretKeyRef), never a param; only a boolean switch (default \"true\" or \"false\") may be named so", word)
}

func checkCredentialParams(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "credential-params", doc: d}
	check := func(at string, params []v1.ParamSpec) {
		for i, x := range params {
			if why := CredentialParam(x); why != "" {
				p.add(fmt.Sprintf("%s.params[%d] (%s)", at, i, x.Name), "%s", why)
			}
		}
	}
	for _, ts := range taskSpecs(d) {
		check(ts.at, ts.spec.Params)
	}
	if at, s := pipelineSpecs(d); s != nil {
		check(at, s.Params)
	}
	return p.list
}

// paramRef finds references to params: $(params.x), $(params["x"]), $(params['x']).
var paramRef = regexp.MustCompile(`\$\(params(?:\.([A-Za-z0-9_-]+)|\["([^"]+)"\]|\['([^']+)'\])`)

// ParamRefs returns the names of the params s refers to.
func ParamRefs(s string) map[string]bool {
	out := map[string]bool{}
	for _, m := range paramRef.FindAllStringSubmatch(s, -1) {
		out[m[1]+m[2]+m[3]] = true
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

func checkTaskParamsUsed(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "task-params-used", doc: d}
	t, ok := d.Object.(*v1.Task)
	if !ok {
		return nil
	}
	used := ParamRefs(mustJSON(struct {
		Steps    []v1.Step
		Template *v1.StepTemplate
		Sidecars []v1.Sidecar
		Volumes  any
	}{t.Spec.Steps, t.Spec.StepTemplate, t.Spec.Sidecars, t.Spec.Volumes}))
	for i, x := range t.Spec.Params {
		if !used[x.Name] {
			p.add(fmt.Sprintf("spec.params[%d] (%s)", i, x.Name), "not used by any step: give it to the binary as an env var, or remove it")
		}
	}
	return p.list
}

func checkPipelineParamsUsed(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "pipeline-params-used", doc: d}
	at, s := pipelineSpecs(d)
	if s == nil {
		return nil
	}
	used := ParamRefs(mustJSON([][]v1.PipelineTask{s.Tasks, s.Finally}))
	for i, x := range s.Params {
		if !used[x.Name] {
			p.add(fmt.Sprintf("%s.params[%d] (%s)", at, i, x.Name), "reaches no task: pass it to a task or remove it")
		}
	}
	return p.list
}

// resultRef finds references to a pipeline task's results: $(tasks.t.results.r) and
// $(finally.t.results.r).
var resultRef = regexp.MustCompile(`\$\((tasks|finally)\.([A-Za-z0-9_-]+)\.results\.([A-Za-z0-9_-]+)`)

// ResultRef is one $(tasks.<task>.results.<result>) reference.
type ResultRef struct {
	Finally      bool
	Task, Result string
}

// ResultRefs returns the task result references in s, in order.
func ResultRefs(s string) []ResultRef {
	var out []ResultRef
	for _, m := range resultRef.FindAllStringSubmatch(s, -1) {
		out = append(out, ResultRef{Finally: m[1] == "finally", Task: m[2], Result: m[3]})
	}
	return out
}

// resolveTask returns the TaskSpec a pipeline task runs: its inline spec, or our Task of
// its taskRef's name; nil when it is resolved remotely or unknown.
func resolveTask(pt *v1.PipelineTask, c *Catalog) *v1.TaskSpec {
	if pt.TaskSpec != nil {
		return &pt.TaskSpec.TaskSpec
	}
	if r := pt.TaskRef; r != nil && r.Resolver == "" && r.Name != "" && (r.Kind == "" || r.Kind == v1.NamespacedTaskKind) {
		if t, ok := c.Tasks[r.Name]; ok {
			return &t.Spec
		}
	}
	return nil
}

func checkPipelineReferences(d *Document, c *Catalog) []Problem {
	p := &problems{rule: "pipeline-references", doc: d}
	at, s := pipelineSpecs(d)
	if s == nil {
		return nil
	}
	workspaces := map[string]bool{}
	for _, w := range s.Workspaces {
		workspaces[w.Name] = true
	}
	specs := map[string]*v1.TaskSpec{}
	known := map[string]bool{}
	for _, l := range []struct {
		field string
		tasks []v1.PipelineTask
	}{{"tasks", s.Tasks}, {"finally", s.Finally}} {
		for i := range l.tasks {
			pt := &l.tasks[i]
			key := l.field + "/" + pt.Name
			known[key] = true
			field := fmt.Sprintf("%s.%s[%d] (%s)", at, l.field, i, pt.Name)
			for j, w := range pt.Workspaces {
				if w.Workspace != "" && !workspaces[w.Workspace] {
					p.add(fmt.Sprintf("%s.workspaces[%d]", field, j), "binds pipeline workspace %q, which the pipeline does not declare", w.Workspace)
				}
			}
			ts := resolveTask(pt, c)
			if ts == nil {
				continue
			}
			specs[key] = ts
			checkTaskBindings(p, field, pt, ts)
		}
	}
	refs := ResultRefs(mustJSON(struct {
		Tasks, Finally []v1.PipelineTask
		Results        []v1.PipelineResult
	}{s.Tasks, s.Finally, s.Results}))
	seen := map[ResultRef]bool{}
	for _, r := range refs {
		if seen[r] {
			continue
		}
		seen[r] = true
		section := "tasks"
		if r.Finally {
			section = "finally"
		}
		key := section + "/" + r.Task
		if !known[key] {
			p.add(at, "$(%s.%s.results.%s): the pipeline has no %s task %q", section, r.Task, r.Result, section, r.Task)
			continue
		}
		ts, ok := specs[key]
		if !ok {
			continue
		}
		if !slices.ContainsFunc(ts.Results, func(x v1.TaskResult) bool { return x.Name == r.Result }) {
			p.add(at, "$(%s.%s.results.%s): task %s declares no result %q; it has %s", section, r.Task, r.Result, r.Task, r.Result, resultNames(ts))
		}
	}
	return p.list
}

func resultNames(ts *v1.TaskSpec) string {
	var n []string
	for _, r := range ts.Results {
		n = append(n, r.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// checkTaskBindings checks a pipeline task's params and workspaces against its Task.
func checkTaskBindings(p *problems, field string, pt *v1.PipelineTask, ts *v1.TaskSpec) {
	given := map[string]bool{}
	for j, x := range pt.Params {
		given[x.Name] = true
		if !slices.ContainsFunc(ts.Params, func(s v1.ParamSpec) bool { return s.Name == x.Name }) {
			p.add(fmt.Sprintf("%s.params[%d] (%s)", field, j, x.Name), "the task has no param %q", x.Name)
		}
	}
	for _, s := range ts.Params {
		if s.Default == nil && !given[s.Name] {
			p.add(field+".params", "required param %q of the task is not given", s.Name)
		}
	}
	bound := map[string]bool{}
	for j, w := range pt.Workspaces {
		bound[w.Name] = true
		if !slices.ContainsFunc(ts.Workspaces, func(s v1.WorkspaceDeclaration) bool { return s.Name == w.Name }) {
			p.add(fmt.Sprintf("%s.workspaces[%d] (%s)", field, j, w.Name), "the task has no workspace %q", w.Name)
		}
	}
	for _, w := range ts.Workspaces {
		if !w.Optional && !bound[w.Name] {
			p.add(field+".workspaces", "required workspace %q of the task is not bound", w.Name)
		}
	}
}
