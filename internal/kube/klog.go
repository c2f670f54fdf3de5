package kube

import (
	"log/slog"

	"k8s.io/klog/v2"
)

// LogThrough sends client-go's klog lines through logger, so that a binary's stderr holds
// one format (--log-format). mirror-image links no client-go and never calls it.
func LogThrough(logger *slog.Logger) {
	klog.SetSlogLogger(logger)
}
