package cliapp

import (
	"slices"
	"strings"
	"testing"
)

// listCases are the cases of TestList; FuzzList is seeded from them.
func listCases() []struct {
	name   string
	values []string
	want   []string
} {
	return []struct {
		name   string
		values []string
		want   []string
	}{
		{name: "nothing", values: nil, want: []string{}},
		{name: "empty value", values: []string{""}, want: []string{}},
		{name: "blanks and commas only", values: []string{" ", ",", " , ,"}, want: []string{}},
		{name: "one", values: []string{"registry:5000"}, want: []string{"registry:5000"}},
		{name: "trimmed", values: []string{"  a , b  "}, want: []string{"a", "b"}},
		{name: "stray commas", values: []string{",a,,b,"}, want: []string{"a", "b"}},
		{name: "several values, as a repeated flag", values: []string{"a", "", "b,c"}, want: []string{"a", "b", "c"}},
	}
}

func TestList(t *testing.T) {
	for _, tt := range listCases() {
		t.Run(tt.name, func(t *testing.T) {
			got := List(tt.values...)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("List(%q) = %#v, want %#v", tt.values, got, tt.want)
			}
		})
	}
}

// FuzzList: whatever the value, List returns a non-nil list of trimmed, non-blank entries
// without commas, in the order they were written.
func FuzzList(f *testing.F) {
	for _, tt := range listCases() {
		f.Add(strings.Join(tt.values, ","))
	}
	f.Fuzz(func(t *testing.T, value string) {
		got := List(value)
		if got == nil {
			t.Fatal("List returned nil")
		}
		rest := value
		for _, entry := range got {
			if entry == "" || entry != strings.TrimSpace(entry) || strings.Contains(entry, ",") {
				t.Fatalf("List(%q) has entry %q", value, entry)
			}
			i := strings.Index(rest, entry)
			if i < 0 {
				t.Fatalf("List(%q) = %q: entry %q out of order", value, got, entry)
			}
			rest = rest[i+len(entry):]
		}
	})
}
