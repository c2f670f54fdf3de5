package tektontest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultFileMode is the kubelet's mode for files of Secret, ConfigMap, downward-API and
// projected volumes when the volume gives none.
const defaultFileMode = 0o644

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// volumeFile is one file of a Secret, ConfigMap, downward-API or projected volume.
type volumeFile struct {
	path string
	data []byte
	mode fs.FileMode
}

// realizeVolume makes the host directory that stands in for volume v of the pod under dir
// and returns its path. emptyDir volumes are world-writable, as the kubelet makes them;
// persistentVolumeClaim volumes are one directory per claim under pvcDir, shared by every
// pod that mounts the claim (that is how a workspace carries files from task to task).
func (p *podRun) realizeVolume(ctx context.Context, v corev1.Volume) (string, error) {
	dir := filepath.Join(p.dir, "volumes", v.Name)
	switch {
	case v.EmptyDir != nil:
		return dir, mkdirAll(dir, 0o777)
	case v.PersistentVolumeClaim != nil:
		claim := v.PersistentVolumeClaim.ClaimName
		if _, err := p.r.kube.CoreV1().PersistentVolumeClaims(p.pod.Namespace).Get(ctx, claim, metav1.GetOptions{}); err != nil {
			return "", fmt.Errorf("volume %s: persistentvolumeclaim %q: %w", v.Name, claim, err)
		}
		dir = filepath.Join(p.r.dir, "pvc", p.pod.Namespace, claim)
		return dir, mkdirAll(dir, 0o777)
	case v.Secret != nil, v.ConfigMap != nil, v.DownwardAPI != nil, v.Projected != nil:
		files, err := p.volumeFiles(ctx, v)
		if err != nil {
			return "", fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if err := mkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		for _, f := range files {
			path := filepath.Join(dir, filepath.FromSlash(f.path))
			if !strings.HasPrefix(path, dir+string(filepath.Separator)) {
				return "", fmt.Errorf("volume %s: item path %q leaves the volume", v.Name, f.path)
			}
			if err := mkdirAll(filepath.Dir(path), 0o755); err != nil {
				return "", err
			}
			if err := os.WriteFile(path, f.data, f.mode); err != nil {
				return "", fmt.Errorf("volume %s: %w", v.Name, err)
			}
			if err := os.Chmod(path, f.mode); err != nil { // not narrowed by the umask
				return "", err
			}
		}
		return dir, nil
	default:
		return "", fmt.Errorf("volume %s: only emptyDir, persistentVolumeClaim, secret, configMap, downwardAPI and projected volumes are %w", v.Name, errUnsupported)
	}
}

// volumeFiles returns the files of a Secret, ConfigMap, downward-API or projected volume.
func (p *podRun) volumeFiles(ctx context.Context, v corev1.Volume) ([]volumeFile, error) {
	mode := func(m *int32) fs.FileMode {
		if m == nil {
			return defaultFileMode
		}
		return fs.FileMode(*m) & fs.ModePerm
	}
	switch {
	case v.Secret != nil:
		return p.secretFiles(ctx, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode))
	case v.ConfigMap != nil:
		return p.configMapFiles(ctx, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode))
	case v.DownwardAPI != nil:
		return p.downwardFiles(v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode))
	}
	var files []volumeFile
	def := mode(v.Projected.DefaultMode)
	for _, src := range v.Projected.Sources {
		var more []volumeFile
		var err error
		switch {
		case src.Secret != nil:
			more, err = p.secretFiles(ctx, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def)
		case src.ConfigMap != nil:
			more, err = p.configMapFiles(ctx, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def)
		case src.DownwardAPI != nil:
			more, err = p.downwardFiles(src.DownwardAPI.Items, def)
		case src.ServiceAccountToken != nil:
			more, err = p.tokenFile(ctx, src.ServiceAccountToken, def)
		default:
			err = fmt.Errorf("projected sources other than secret, configMap, downwardAPI and serviceAccountToken are %w", errUnsupported)
		}
		if err != nil {
			return nil, err
		}
		files = append(files, more...)
	}
	return files, nil
}

func (p *podRun) secretFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional *bool, mode fs.FileMode) ([]volumeFile, error) {
	s, err := p.keys.secret(ctx, name)
	if err != nil {
		return nil, err
	}
	if s == nil {
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, fmt.Errorf("secret %q not found", name)
	}
	return keyFiles("secret "+name, s.Data, items, optional, mode)
}

func (p *podRun) configMapFiles(ctx context.Context, name string, items []corev1.KeyToPath, optional *bool, mode fs.FileMode) ([]volumeFile, error) {
	cm, err := p.keys.configMap(ctx, name)
	if err != nil {
		return nil, err
	}
	if cm == nil && name == "kube-root-ca.crt" && p.r.clusterCA != nil {
		// kube-controller-manager publishes this in every namespace; none runs here.
		return keyFiles("configmap "+name, map[string][]byte{"ca.crt": p.r.clusterCA}, items, optional, mode)
	}
	if cm == nil {
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, fmt.Errorf("configmap %q not found", name)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles("configmap "+name, data, items, optional, mode)
}

// keyFiles maps keys to files: every key under its own name, or only the items.
func keyFiles(what string, data map[string][]byte, items []corev1.KeyToPath, optional *bool, mode fs.FileMode) ([]volumeFile, error) {
	var files []volumeFile
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			files = append(files, volumeFile{path: k, data: data[k], mode: mode})
		}
		return files, nil
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return nil, fmt.Errorf("%s has no key %q", what, it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = fs.FileMode(*it.Mode) & fs.ModePerm
		}
		files = append(files, volumeFile{path: it.Path, data: d, mode: m})
	}
	return files, nil
}

func (p *podRun) downwardFiles(items []corev1.DownwardAPIVolumeFile, mode fs.FileMode) ([]volumeFile, error) {
	var files []volumeFile
	for _, it := range items {
		if it.FieldRef == nil {
			return nil, fmt.Errorf("downwardAPI item %s: resourceFieldRef is %w", it.Path, errUnsupported)
		}
		v, err := podField(p.pod, it.FieldRef.FieldPath)
		if err != nil {
			return nil, err
		}
		m := mode
		if it.Mode != nil {
			m = fs.FileMode(*it.Mode) & fs.ModePerm
		}
		files = append(files, volumeFile{path: it.Path, data: []byte(v), mode: m})
	}
	return files, nil
}

// tokenFile asks the API server for a service-account token bound to the pod, as the
// kubelet does for projected serviceAccountToken sources.
func (p *podRun) tokenFile(ctx context.Context, src *corev1.ServiceAccountTokenProjection, mode fs.FileMode) ([]volumeFile, error) {
	sa := p.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	expiry := int64(3600)
	if src.ExpirationSeconds != nil {
		expiry = *src.ExpirationSeconds
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &expiry,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.pod.Name, UID: p.pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	tr, err := p.r.kube.CoreV1().ServiceAccounts(p.pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("service account %s/%s not found: %w", p.pod.Namespace, sa, err)
		}
		return nil, fmt.Errorf("requesting a token of service account %s/%s for the pod: %w", p.pod.Namespace, sa, err)
	}
	return []volumeFile{{path: src.Path, data: []byte(tr.Status.Token), mode: mode}}, nil
}

// mkdirAll makes dir with exactly mode (not narrowed by the umask).
func mkdirAll(dir string, mode fs.FileMode) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}
