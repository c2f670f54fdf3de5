package watcher

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/thoth-station/build-watcher/internal/submit"
)

// AnnotationAnalyzedTags, on an ImageStream, maps each tag whose image was submitted with
// --analyze-existing to that image's digest (JSON), so that it is submitted once.
const AnnotationAnalyzedTags = Prefix + "analyzed-tags"

// analyzeImageStreams submits the current image of every ImageStream tag in the watched
// namespaces to Thoth, once per tag and image, as the old bot did for existing images.
// The images go straight to Thoth as output images (there is no build to run a Pipeline
// for); failures are logged and retried at the next start.
func (w *Watcher) analyzeImageStreams(ctx context.Context) {
	namespaces := w.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	submitted, failed := 0, 0
	for _, ns := range namespaces {
		list, err := w.clients.Image.ImageV1().ImageStreams(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			w.log.Error("listing ImageStreams for --analyze-existing failed", "namespace", ns, "error", err)
			w.metrics.apiErrors.WithLabelValues("list", "imagestreams").Inc()
			continue
		}
		for i := range list.Items {
			n, f := w.analyzeImageStream(ctx, &list.Items[i])
			submitted, failed = submitted+n, failed+f
		}
	}
	w.log.Info("existing ImageStream tags submitted", "submitted", submitted, "failed", failed)
}

func (w *Watcher) analyzeImageStream(ctx context.Context, is *imagev1.ImageStream) (submitted, failed int) {
	done := map[string]string{}
	if v := is.Annotations[AnnotationAnalyzedTags]; v != "" {
		_ = json.Unmarshal([]byte(v), &done) // unreadable: submit again
	}
	changed := false
	for _, tag := range is.Status.Tags {
		if len(tag.Items) == 0 {
			continue
		}
		latest := tag.Items[0]
		if latest.DockerImageReference == "" || done[tag.Tag] == latest.Image {
			continue
		}
		origin := is.Namespace + "/" + is.Name + ":" + tag.Tag
		if w.cfg.Analysis.Cluster != "" {
			origin = w.cfg.Analysis.Cluster + "/" + origin
		}
		opts := submitOptions(w.cfg, origin)
		opts.OutputImage, opts.NoBase, opts.NoBuildLog = latest.DockerImageReference, true, true
		opts.PushRegistry = "" // the image is where it is; not mirrored
		client, err := w.thoth.get(ctx)
		if err == nil {
			opts.Client = client
			_, err = submit.Run(ctx, opts, submit.Streams{Stdout: io.Discard, Logger: w.log.With("imagestream", origin)})
		}
		if err != nil {
			w.log.Error("submitting an existing image failed; it is retried at the next start", "imagestream", origin, "image", latest.DockerImageReference, "error", err)
			failed++
			continue
		}
		done[tag.Tag], changed = latest.Image, true
		submitted++
	}
	if !changed {
		return submitted, failed
	}
	value, _ := json.Marshal(done)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{AnnotationAnalyzedTags: string(value)}, "uid": is.UID,
	}})
	if _, err := w.clients.Image.ImageV1().ImageStreams(is.Namespace).Patch(ctx, is.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		w.log.Error("marking the ImageStream's submitted tags failed; they are submitted again at the next start",
			"imagestream", fmt.Sprintf("%s/%s", is.Namespace, is.Name), "error", err)
		w.metrics.apiErrors.WithLabelValues("patch", "imagestreams").Inc()
	}
	return submitted, failed
}
