// Package version holds the version string stamped into every binary at build time.
package version

// Version is the release version of this build. The Makefile and ko.yaml set it with
// -ldflags "-X github.com/thoth-station/build-watcher/internal/version.Version=...";
// it is never written at run time.
var Version = "v0.0.0-dev"
