// Package modules checks the repository's Go modules against each other: the tool modules
// that build the test control plane (hack/tools) and Tekton's controller (hack/tools/tekton)
// pin every module they share with the main module at the main module's version, so that
// each shared package compiles once for all of them (hack/testenv.sh, make lint).
package modules
