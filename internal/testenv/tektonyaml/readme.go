package tektonyaml

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// heading matches a Markdown ATX heading: its level and text.
var heading = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)

// Section returns the Markdown under the first heading whose text is title, down to the
// next heading of the same or a higher level; fenced code blocks are not searched for
// headings.
func Section(md, title string) (string, bool) {
	lines := strings.Split(md, "\n")
	level, start := 0, -1
	fenced := false
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if start >= 0 && len(m[1]) <= level {
			return strings.Join(lines[start:i], "\n"), true
		}
		if start < 0 && m[2] == title {
			level, start = len(m[1]), i+1
		}
	}
	if start < 0 {
		return "", false
	}
	return strings.Join(lines[start:], "\n"), true
}

// codeName is the first `code` span of a table cell.
var codeName = regexp.MustCompile("`([^`]+)`")

// TableNames returns the names in the first column of the first Markdown table in md,
// each the cell's first `code` span (the header and delimiter rows are skipped).
func TableNames(md string) ([]string, error) {
	var (
		names   []string
		inTable bool
		row     int
	)
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		row++
		if row <= 2 { // header and delimiter
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		m := codeName.FindStringSubmatch(cells[0])
		if m == nil || strings.TrimSpace(m[1]) == "" {
			return nil, fmt.Errorf("table row %q: the first cell holds no `name`", line)
		}
		names = append(names, strings.TrimSpace(m[1]))
	}
	if !inTable {
		return nil, fmt.Errorf("no table")
	}
	return names, nil
}

// Interface is the names a Task or Pipeline offers its users.
type Interface struct {
	Params, Results, Workspaces []string
}

// InterfaceOf returns the sorted names of a Task's or Pipeline's params, results and
// workspaces; ok is false for other kinds.
func InterfaceOf(d *Document) (Interface, bool) {
	var in Interface
	switch o := d.Object.(type) {
	case *v1.Task:
		for _, x := range o.Spec.Params {
			in.Params = append(in.Params, x.Name)
		}
		for _, x := range o.Spec.Results {
			in.Results = append(in.Results, x.Name)
		}
		for _, x := range o.Spec.Workspaces {
			in.Workspaces = append(in.Workspaces, x.Name)
		}
	case *v1.Pipeline:
		for _, x := range o.Spec.Params {
			in.Params = append(in.Params, x.Name)
		}
		for _, x := range o.Spec.Results {
			in.Results = append(in.Results, x.Name)
		}
		for _, x := range o.Spec.Workspaces {
			in.Workspaces = append(in.Workspaces, x.Name)
		}
	default:
		return in, false
	}
	sort.Strings(in.Params)
	sort.Strings(in.Results)
	sort.Strings(in.Workspaces)
	return in, true
}

// ReadmeInterface reads the Parameters, Results and Workspaces tables of a README
// section. A missing Results or Workspaces heading means none; a missing Parameters
// heading is an error.
func ReadmeInterface(md string) (Interface, error) {
	var in Interface
	for _, t := range []struct {
		title    string
		into     *[]string
		required bool
	}{{"Parameters", &in.Params, true}, {"Results", &in.Results, false}, {"Workspaces", &in.Workspaces, false}} {
		sec, ok := Section(md, t.title)
		if !ok {
			if t.required {
				return in, fmt.Errorf("no %q heading", t.title)
			}
			continue
		}
		names, err := TableNames(sec)
		if err != nil {
			return in, fmt.Errorf("under %q: %w", t.title, err)
		}
		sort.Strings(names)
		*t.into = names
	}
	return in, nil
}

// Diff describes how got (a README) differs from want (the YAML), or "" when they hold
// the same names.
func (want Interface) Diff(got Interface) string {
	var out []string
	for _, l := range []struct {
		what      string
		want, got []string
	}{{"params", want.Params, got.Params}, {"results", want.Results, got.Results}, {"workspaces", want.Workspaces, got.Workspaces}} {
		missing, extra := setDiff(l.want, l.got), setDiff(l.got, l.want)
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("%s missing from the README: %s", l.what, strings.Join(missing, ", ")))
		}
		if len(extra) > 0 {
			out = append(out, fmt.Sprintf("%s in the README but not in the YAML: %s", l.what, strings.Join(extra, ", ")))
		}
	}
	return strings.Join(out, "; ")
}

func setDiff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}
