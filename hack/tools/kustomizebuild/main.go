// Command kustomize-build builds a kustomization directory and prints the objects as YAML
// documents, as `kubectl kustomize DIR` prints them and `kubectl apply -k DIR` applies them:
// with kustomize's own krusty, the library kubectl embeds, at the version the tools module
// pins. The tests of the main module run it on config/monitoring, whose ConfigMap of the
// dashboard only a kustomize build makes.
//
// Usage: kustomize-build DIR
//
// Errors (a missing file, a bad kustomization) are one line on stderr; the exit status is 1.
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "" || os.Args[1][0] == '-' {
		fmt.Fprintln(os.Stderr, "usage: kustomize-build DIR (a directory with a kustomization.yaml)")
		os.Exit(2)
	}
	dir := os.Args[1]
	// kubectl's defaults: load restrictions on (no file outside DIR), no plugins.
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	objs, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-build %s: %v\n", dir, err)
		os.Exit(1)
	}
	out, err := objs.AsYaml()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-build %s: writing YAML: %v\n", dir, err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fmt.Fprintf(os.Stderr, "kustomize-build %s: %v\n", dir, err)
		os.Exit(1)
	}
}
