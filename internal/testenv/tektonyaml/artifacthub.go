package tektonyaml

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Artifact Hub's own annotations on a Tekton resource (artifacthub/hub
// docs/tekton_annotations.md), which its tracker parses as YAML and rejects the version on
// error.
const (
	LicenseAnnotation     = "artifacthub.io/license"
	ProviderAnnotation    = "artifacthub.io/provider"
	LinksAnnotation       = "artifacthub.io/links"
	MaintainersAnnotation = "artifacthub.io/maintainers"
	ChangesAnnotation     = "artifacthub.io/changes"
)

// ChangeKinds are the kinds a structured artifacthub.io/changes entry may have.
func ChangeKinds() []string {
	return []string{"added", "changed", "deprecated", "removed", "fixed", "security"}
}

// spdx is the shape of an SPDX license identifier (or a simple expression of them).
var spdx = regexp.MustCompile(`^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$`)

// checkArtifactHub applies the rules of Artifact Hub's tracker and ah lint that the other
// rules do not: license, provider and links set; links, maintainers and changes valid YAML
// of their shapes; keywords (tekton, the kind, then tekton.dev/tags) without duplicates.
func checkArtifactHub(d *Document, _ *Catalog) []Problem {
	p := &problems{rule: "artifacthub", doc: d}
	r, ok := resourceOf(d)
	if !ok {
		return nil
	}
	field := func(key string) string { return "metadata.annotations." + key }
	switch lic := r.annotations[LicenseAnnotation]; {
	case lic == "":
		p.add("metadata.annotations", "missing annotation %s: the SPDX identifier of the license, Apache-2.0", LicenseAnnotation)
	case !spdx.MatchString(lic):
		p.add(field(LicenseAnnotation), "%q is not an SPDX license identifier", lic)
	}
	if strings.TrimSpace(r.annotations[ProviderAnnotation]) == "" {
		p.add("metadata.annotations", "missing annotation %s: who provides the resource", ProviderAnnotation)
	}
	if v, found := r.annotations[LinksAnnotation]; !found {
		p.add("metadata.annotations", "missing annotation %s: links to the source and the docs", LinksAnnotation)
	} else if err := checkLinks(v); err != nil {
		p.add(field(LinksAnnotation), "%v", err)
	}
	if v, found := r.annotations[MaintainersAnnotation]; found {
		if err := checkMaintainers(v); err != nil {
			p.add(field(MaintainersAnnotation), "%v", err)
		}
	}
	if v, found := r.annotations[ChangesAnnotation]; found {
		if err := checkChanges(v); err != nil {
			p.add(field(ChangesAnnotation), "%v", err)
		}
	}
	kind := strings.ToLower(d.GVK.Kind)
	seen := map[string]bool{"tekton": true, kind: true}
	for _, tag := range strings.Split(r.annotations[TagsAnnotation], ",") {
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		if seen[tag] {
			p.add(field(TagsAnnotation), "keyword %q twice: Artifact Hub adds tekton and %s itself", tag, kind)
		}
		seen[tag] = true
	}
	return p.list
}

func checkLinks(v string) error {
	var links []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	}
	if err := yaml.UnmarshalStrict([]byte(v), &links); err != nil {
		return fmt.Errorf("not a YAML list of name and url: %w", err)
	}
	if len(links) == 0 {
		return fmt.Errorf("no links")
	}
	var names []string
	for i, l := range links {
		u, err := url.Parse(l.URL)
		switch {
		case l.Name == "":
			return fmt.Errorf("link %d has no name", i)
		case slices.Contains(names, l.Name):
			return fmt.Errorf("link name %q twice", l.Name)
		case l.Name == "source":
			return fmt.Errorf("link name source: Artifact Hub adds its own source link to the manifest; name the repository link otherwise")
		case err != nil || u.Scheme != "https" || u.Host == "":
			return fmt.Errorf("link %q: %q is not an https URL", l.Name, l.URL)
		}
		names = append(names, l.Name)
	}
	return nil
}

func checkMaintainers(v string) error {
	var maintainers []struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := yaml.UnmarshalStrict([]byte(v), &maintainers); err != nil {
		return fmt.Errorf("not a YAML list of name and email: %w", err)
	}
	if len(maintainers) == 0 {
		return fmt.Errorf("no maintainers")
	}
	for i, m := range maintainers {
		if m.Name == "" || !strings.Contains(m.Email, "@") {
			return fmt.Errorf("maintainer %d needs a name and an email (Artifact Hub drops them all otherwise)", i)
		}
	}
	return nil
}

func checkChanges(v string) error {
	var entries []any
	if err := yaml.Unmarshal([]byte(v), &entries); err != nil {
		return fmt.Errorf("not a YAML list: %w", err)
	}
	for i, e := range entries {
		switch e := e.(type) {
		case string:
			if strings.TrimSpace(e) == "" {
				return fmt.Errorf("change %d is empty", i)
			}
		case map[string]any:
			kind, _ := e["kind"].(string)
			desc, _ := e["description"].(string)
			if !slices.Contains(ChangeKinds(), kind) {
				return fmt.Errorf("change %d: kind %q is not one of %s", i, kind, strings.Join(ChangeKinds(), ", "))
			}
			if strings.TrimSpace(desc) == "" {
				return fmt.Errorf("change %d has no description", i)
			}
		default:
			return fmt.Errorf("change %d is neither a string nor a kind and description", i)
		}
	}
	return nil
}
