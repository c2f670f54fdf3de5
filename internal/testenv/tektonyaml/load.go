// Package tektonyaml loads the Tekton YAML this project ships (tasks/, catalog/,
// examples/) strictly into Go types and checks it: Tekton's own defaulting and
// validation, catlin's catalog rules, and the project's rules for Tasks and Pipelines.
package tektonyaml

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	tektonscheme "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/scheme"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// TektonGroup is the API group of Tekton's kinds; TektonVersion the only version we ship.
const (
	TektonGroup   = "tekton.dev"
	TektonVersion = "v1"
)

// Dirs are the directories, relative to the module root, whose YAML we ship. A missing
// one is skipped (catalog/ exists only after a release build).
var Dirs = []string{"tasks", "catalog", "examples"}

// ArgoDirs hold Argo's kinds (WorkflowTemplates, Argo Events), which these schemes do not
// know: LoadTree skips them, and Argo's own validation checks them (argo-lint, hack/tools/argolint).
var ArgoDirs = []string{"tasks/argo", "catalog/argo", "examples/argo-events"}

// Scope says where a document lives, which decides the rules it must follow.
type Scope string

// The scopes, named after the top-level directory.
const (
	// ScopeTasks is tasks/, the hand-edited source: step images may be ko:// references.
	ScopeTasks Scope = "tasks"
	// ScopeCatalog is catalog/, the release output published on Artifact Hub.
	ScopeCatalog Scope = "catalog"
	// ScopeExamples is examples/, applied by users with kubectl.
	ScopeExamples Scope = "examples"
)

// Document is one YAML document of a file, decoded strictly into its Go type.
type Document struct {
	// Path is the file's path relative to the module root, slash-separated.
	Path string
	// Index is the document's position in its file, from 0.
	Index int
	// GVK is the document's apiVersion and kind.
	GVK schema.GroupVersionKind
	// Object is the decoded object: a *v1.Task, *corev1.Secret, ...
	Object runtime.Object
	// Raw is the document's YAML text.
	Raw []byte
}

// Scope is the scope of the directory the document lives in.
func (d *Document) Scope() Scope {
	top, _, _ := strings.Cut(d.Path, "/")
	return Scope(top)
}

// Name is the object's metadata.name, or its generateName followed by "*".
func (d *Document) Name() string {
	m, err := metaOf(d.Object)
	if err != nil {
		return "?"
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		return m.GetGenerateName() + "*"
	}
	return m.GetName()
}

// String names the document for error messages: file, position and object.
func (d *Document) String() string {
	return fmt.Sprintf("%s (document %d: %s %s)", d.Path, d.Index+1, d.GVK.Kind, d.Name())
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// newScheme knows Kubernetes' built-in kinds and Tekton's.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := tektonscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// IsArtifactHubMetadata reports whether the file name is Artifact Hub's repository or
// package metadata (artifacthub-repo.yml, artifacthub-pkg.yml), which is not a Kubernetes
// object.
func IsArtifactHubMetadata(name string) bool {
	base := path.Base(name)
	return strings.HasPrefix(base, "artifacthub-") && (strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml"))
}

// Decode splits data, the content of the file at path, into YAML documents and decodes
// each strictly into its Go type: an unknown or duplicated field, a kind the schemes do not know, a Tekton
// kind in another version than tekton.dev/v1, or a missing name is an error naming the
// file and the document. Documents holding only comments are skipped.
func Decode(path string, data []byte) ([]*Document, error) {
	scheme, err := newScheme()
	if err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var (
		docs []*Document
		errs []error
	)
	for i := 0; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading document %d: %w", path, i+1, err)
		}
		if isBlank(raw) {
			i--
			continue
		}
		doc, err := decodeOne(scheme, path, i, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, doc)
	}
	return docs, errors.Join(errs...)
}

// isBlank reports whether a YAML document holds nothing but comments and blank lines.
func isBlank(raw []byte) bool {
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

func decodeOne(scheme *runtime.Scheme, path string, i int, raw []byte) (*Document, error) {
	where := fmt.Sprintf("%s (document %d)", path, i+1)
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, fmt.Errorf("%s: no apiVersion or kind: every document must be a Kubernetes object", where)
	}
	gvk := tm.GroupVersionKind()
	if gvk.Group == TektonGroup && gvk.Version != TektonVersion {
		return nil, fmt.Errorf("%s: %s is %s: ship %s/%s only", where, gvk.Kind, tm.APIVersion, TektonGroup, TektonVersion)
	}
	if !scheme.Recognizes(gvk) {
		return nil, fmt.Errorf("%s: unknown kind %s %s: the decoder knows Kubernetes' built-in kinds and Tekton's", where, tm.APIVersion, tm.Kind)
	}
	// apimachinery's strict YAML decoding, as kubectl --validate=strict: unknown and
	// duplicate fields are errors that name the field's path.
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	obj, _, err := strict.Decode(raw, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", where, gvk.Kind, err)
	}
	doc := &Document{Path: path, Index: i, GVK: gvk, Object: obj, Raw: raw}
	m, err := metaOf(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if m.GetName() == "" && m.GetGenerateName() == "" {
		return nil, fmt.Errorf("%s: metadata.name is empty", doc)
	}
	return doc, nil
}

// LoadTree loads every .yaml and .yml file under the given directories of root (relative,
// slash-separated; a missing directory is skipped), in a stable order. Artifact Hub
// metadata files are checked to be YAML mappings (or empty) and not returned. Every file's errors are
// returned together.
func LoadTree(root string, dirs ...string) ([]*Document, error) {
	var (
		docs []*Document
		errs []error
	)
	for _, dir := range dirs {
		files, err := yamlFiles(root, dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rel := range files {
			data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if IsArtifactHubMetadata(rel) {
				var m map[string]any
				if err := yaml.Unmarshal(data, &m); err != nil {
					errs = append(errs, fmt.Errorf("%s: Artifact Hub metadata is not a YAML mapping: %w", rel, err))
				}
				continue
			}
			d, err := Decode(rel, data)
			if err != nil {
				errs = append(errs, err)
			}
			docs = append(docs, d...)
		}
	}
	return docs, errors.Join(errs...)
}

// yamlFiles lists the YAML files under root/dir as slash-separated paths relative to root.
func yamlFiles(root, dir string) ([]string, error) {
	base := filepath.Join(root, filepath.FromSlash(dir))
	if _, err := os.Stat(base); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var files []string
	err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if e.IsDir() && slices.Contains(ArgoDirs, filepath.ToSlash(rel)) {
			return fs.SkipDir
		}
		if e.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}
