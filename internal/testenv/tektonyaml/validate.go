package tektonyaml

import (
	"context"
	"fmt"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"knative.dev/pkg/apis"
)

// WithDefaultConfig returns ctx carrying Tekton's default configuration (the
// config-defaults and feature-flags ConfigMaps left empty, as a fresh install has them),
// marked as a create, the way Tekton's admission webhook sees a `kubectl apply` of a
// new object.
func WithDefaultConfig(ctx context.Context) context.Context {
	cfg := config.FromContextOrDefaults(ctx)
	return apis.WithinCreate(config.ToContext(ctx, cfg))
}

// defaultable and validatable are what Tekton's kinds implement for its webhook.
type (
	defaultable interface {
		SetDefaults(context.Context)
	}
	validatable interface {
		Validate(context.Context) *apis.FieldError
	}
)

// Validate runs Tekton's SetDefaults and Validate, as its admission webhook does, on a
// copy of the document's object (named, when it has a generateName, as the API server
// names it first); ctx should come from WithDefaultConfig. Kinds without
// them (Secrets, Roles, ...) pass: decoding them strictly was their check.
func Validate(ctx context.Context, d *Document) error {
	obj := d.Object.DeepCopyObject()
	v, ok := obj.(validatable)
	if !ok {
		return nil
	}
	// The API server names a generateName object before admission: do the same.
	if m, err := metaOf(obj); err == nil && m.GetName() == "" {
		m.SetName(m.GetGenerateName() + "x7k2p")
	}
	if def, ok := obj.(defaultable); ok {
		def.SetDefaults(ctx)
	}
	if err := v.Validate(ctx); err != nil {
		return fmt.Errorf("%s: Tekton validation: %w", d, err)
	}
	return nil
}

// Tekton's kinds must keep the webhook's methods, or Validate would pass them unchecked.
var (
	_ defaultable = (*v1.Task)(nil)
	_ validatable = (*v1.Task)(nil)
	_ defaultable = (*v1.Pipeline)(nil)
	_ validatable = (*v1.Pipeline)(nil)
	_ defaultable = (*v1.TaskRun)(nil)
	_ validatable = (*v1.TaskRun)(nil)
	_ defaultable = (*v1.PipelineRun)(nil)
	_ validatable = (*v1.PipelineRun)(nil)
)
