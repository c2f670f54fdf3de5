package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	root, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("%s holds no go.mod: %v", root, err)
	}
	if filepath.Base(root) == "modroot" {
		t.Errorf("Find stopped at the package directory %s", root)
	}
	t.Chdir(t.TempDir())
	if _, err := Find(); err == nil {
		t.Error("Find succeeded outside any module")
	}
}
