// Package modroot finds the module's root directory, for tests and tools that read the
// repository's own files (hack/ scripts, the shared spec beside the checkout).
package modroot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Find returns the nearest directory holding go.mod, walking up from the working directory.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
