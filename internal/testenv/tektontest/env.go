package tektontest

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// envList is an ordered environment in which a later value of a name replaces the earlier.
type envList struct {
	names  []string
	values map[string]string
}

func newEnvList() *envList { return &envList{values: map[string]string{}} }

func (l *envList) set(name, value string) {
	if _, ok := l.values[name]; !ok {
		l.names = append(l.names, name)
	}
	l.values[name] = value
}

func (l *envList) lookup(name string) (string, bool) {
	v, ok := l.values[name]
	return v, ok
}

// environ is the list as NAME=value strings, in order of first definition.
func (l *envList) environ() []string {
	out := make([]string, 0, len(l.names))
	for _, n := range l.names {
		out = append(out, n+"="+l.values[n])
	}
	return out
}

// expand replaces $(NAME) with NAME's value where NAME is defined and $$ with $, leaving
// anything else as written: the kubelet's expansion of env values, command and args
// (k8s.io/kubernetes/third_party/forked/golang/expansion).
func expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:]) // unterminated: kept as written
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// fieldPathSubscript matches metadata.labels['key'] and metadata.annotations['key'].
var fieldPathSubscript = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.+)'\]$`)

// podField returns the value of a downward-API field path of pod, as the kubelet resolves
// fieldRef; the pod's IPs are loopback, where everything here runs.
func podField(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return "127.0.0.1", nil
	}
	if m := fieldPathSubscript.FindStringSubmatch(path); m != nil {
		if m[1] == "labels" {
			return pod.Labels[m[2]], nil
		}
		return pod.Annotations[m[2]], nil
	}
	return "", fmt.Errorf("fieldRef %q is %w", path, errUnsupported)
}

// keyLookup reads keys of Secrets and ConfigMaps in a pod's namespace, once each.
type keyLookup struct {
	client     kubernetes.Interface
	namespace  string
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

func newKeyLookup(client kubernetes.Interface, namespace string) *keyLookup {
	return &keyLookup{client: client, namespace: namespace, secrets: map[string]*corev1.Secret{}, configMaps: map[string]*corev1.ConfigMap{}}
}

// secret returns the Secret, or nil when it does not exist.
func (k *keyLookup) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	if s, ok := k.secrets[name]; ok {
		return s, nil
	}
	s, err := k.client.CoreV1().Secrets(k.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading secret %s/%s: %w", k.namespace, name, err)
	}
	k.secrets[name] = s
	return s, nil
}

// configMap returns the ConfigMap, or nil when it does not exist.
func (k *keyLookup) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	if c, ok := k.configMaps[name]; ok {
		return c, nil
	}
	c, err := k.client.CoreV1().ConfigMaps(k.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading configmap %s/%s: %w", k.namespace, name, err)
	}
	k.configMaps[name] = c
	return c, nil
}

// containerEnv builds a container's environment as the kubelet does: base (the image's
// variables and what the runtime adds), then envFrom, then env with $(NAME) expanded
// against what is defined before it; valueFrom is resolved from the pod, its Secrets and
// ConfigMaps. A missing Secret, ConfigMap or key that is not optional is an error, which
// the kubelet reports as CreateContainerConfigError.
func containerEnv(ctx context.Context, keys *keyLookup, pod *corev1.Pod, c *corev1.Container, base []corev1.EnvVar) (*envList, error) {
	env := newEnvList()
	for _, e := range base {
		env.set(e.Name, e.Value)
	}
	optional := func(b *bool) bool { return b != nil && *b }
	for _, from := range c.EnvFrom {
		switch {
		case from.SecretRef != nil:
			s, err := keys.secret(ctx, from.SecretRef.Name)
			if err != nil {
				return nil, err
			}
			if s == nil {
				if optional(from.SecretRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("envFrom: secret %q not found", from.SecretRef.Name)
			}
			for _, k := range sortedKeys(s.Data) {
				env.set(from.Prefix+k, string(s.Data[k]))
			}
		case from.ConfigMapRef != nil:
			cm, err := keys.configMap(ctx, from.ConfigMapRef.Name)
			if err != nil {
				return nil, err
			}
			if cm == nil {
				if optional(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("envFrom: configmap %q not found", from.ConfigMapRef.Name)
			}
			for _, k := range sortedKeys(cm.Data) {
				env.set(from.Prefix+k, cm.Data[k])
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env.set(e.Name, expand(e.Value, env.lookup))
			continue
		}
		v, ok, err := valueFrom(ctx, keys, pod, e)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			env.set(e.Name, v)
		}
	}
	return env, nil
}

// valueFrom resolves one env var's valueFrom; ok is false for an optional key that is missing.
func valueFrom(ctx context.Context, keys *keyLookup, pod *corev1.Pod, e corev1.EnvVar) (value string, ok bool, err error) {
	from := e.ValueFrom
	optional := func(b *bool) bool { return b != nil && *b }
	switch {
	case from.FieldRef != nil:
		v, err := podField(pod, from.FieldRef.FieldPath)
		return v, err == nil, err
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := keys.secret(ctx, ref.Name)
		if err != nil {
			return "", false, err
		}
		if s == nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secret %q not found", ref.Name)
		}
		v, found := s.Data[ref.Key]
		if !found {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, s.Namespace, ref.Name)
		}
		return string(v), true, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := keys.configMap(ctx, ref.Name)
		if err != nil {
			return "", false, err
		}
		if cm == nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("configmap %q not found", ref.Name)
		}
		v, found := cm.Data[ref.Key]
		if !found {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, cm.Namespace, ref.Name)
		}
		return v, true, nil
	default:
		return "", false, fmt.Errorf("this valueFrom (resourceFieldRef or fileKeyRef) is %w", errUnsupported)
	}
}
