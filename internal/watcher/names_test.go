package watcher

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestRBACHint(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "tekton.dev", Resource: "pipelineruns"}, "thoth-x", errors.New("no"))
	err := rbacHint(forbidden, "create", "pipelineruns", "thoth")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "grant the watcher's service account create on pipelineruns in namespace thoth") {
		t.Errorf("hint: %v", err)
	}
	other := errors.New("connection refused")
	if got := rbacHint(other, "create", "pipelineruns", "thoth"); got != other {
		t.Errorf("a non-RBAC error changed: %v", got)
	}
}
