// Package modules checks the repository's Go modules against each other: the tools module
// that builds the test control plane and Tekton's controller (hack/tools) pins every module
// it shares with the main module at one version, so that each shared package compiles once
// for the test binaries and make lint (hack/testenv.sh).
package modules
