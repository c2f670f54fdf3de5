// Package release holds the tests of the release: hack/release.sh, run by make release,
// builds every step image of tasks/ with ko and writes the Artifact Hub catalog; make
// catalog writes the catalog without images. The tests run the script against a registry
// on loopback and check what a user of the catalog would pull and run.
package release
