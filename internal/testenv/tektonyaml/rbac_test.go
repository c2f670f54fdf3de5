package tektonyaml

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/thoth-station/build-watcher/internal/build"
)

// componentLabel marks the Roles we ship for a binary's needs.
const componentLabel = "app.kubernetes.io/component"

// missingRules returns the permissions of want that the rules of have do not grant, as
// "verb group/resource".
func missingRules(have, want []rbacv1.PolicyRule) []string {
	grants := func(r rbacv1.PolicyRule, group, resource, verb string) bool {
		match := func(list []string, x string) bool { return slices.Contains(list, x) || slices.Contains(list, "*") }
		return match(r.APIGroups, group) && match(r.Resources, resource) && match(r.Verbs, verb)
	}
	var missing []string
	for _, w := range want {
		for _, g := range w.APIGroups {
			for _, res := range w.Resources {
				for _, v := range w.Verbs {
					if !slices.ContainsFunc(have, func(r rbacv1.PolicyRule) bool { return grants(r, g, res, v) }) {
						missing = append(missing, fmt.Sprintf("%s %s/%s", v, g, res))
					}
				}
			}
		}
	}
	return missing
}

// TestCollectBuildRolesGrantWhatItNeeds checks every Role shipped for collect-build
// (labelled app.kubernetes.io/component: collect-build) against the rules the binary
// needs, internal/build/rbac.go.
func TestCollectBuildRolesGrantWhatItNeeds(t *testing.T) {
	_, docs := shipped(t)
	want := slices.Concat(build.OpenShiftRules(), build.TektonRules(), build.ShipwrightRules())
	var n int
	for _, d := range docs {
		role, ok := d.Object.(*rbacv1.Role)
		if !ok || role.Labels[componentLabel] != "collect-build" {
			continue
		}
		n++
		if missing := missingRules(role.Rules, want); len(missing) > 0 {
			t.Errorf("%s: grants no %s, which collect-build needs (internal/build/rbac.go)", d, strings.Join(missing, ", "))
		}
	}
	if n == 0 {
		t.Fatal("no Role labelled app.kubernetes.io/component: collect-build")
	}
}

func TestMissingRules(t *testing.T) {
	want := build.TektonRules()
	for _, tc := range []struct {
		name    string
		have    []rbacv1.PolicyRule
		missing string
	}{
		{"exact", want, ""},
		{"wildcards", []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}, ""},
		{"no watch", []rbacv1.PolicyRule{
			{APIGroups: []string{"tekton.dev"}, Resources: []string{"pipelineruns", "taskruns"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get"}},
		}, "watch tekton.dev/pipelineruns, watch tekton.dev/taskruns"},
		{"no logs", want[:1], "get /pods, get /pods/log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(missingRules(tc.have, want), ", "); got != tc.missing {
				t.Fatalf("missing %q, want %q", got, tc.missing)
			}
		})
	}
}
