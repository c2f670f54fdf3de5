package watcher

import (
	"context"

	"k8s.io/apimachinery/pkg/types"

	"github.com/thoth-station/build-watcher/internal/build"
)

// MarkBuild writes annotations on an OpenShift build the way the reconciler does: as the
// watcher's field manager, conditional on the build's uid and resourceVersion.
func MarkBuild(ctx context.Context, c Clients, namespace, name string, uid types.UID, resourceVersion string, set map[string]*string) error {
	s := &source{kind: build.KindBuild, api: apiOf(build.KindBuild), rest: c.Build.BuildV1().RESTClient()}
	b := &Build{Ref: build.Ref{Kind: build.KindBuild, Namespace: namespace, Name: name}, UID: uid, ResourceVersion: resourceVersion}
	return s.mark(ctx, b, set)
}
