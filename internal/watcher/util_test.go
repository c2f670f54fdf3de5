package watcher_test

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func strconvItoa(n int) string { return strconv.Itoa(n) }

func metavOpts() metav1.GetOptions { return metav1.GetOptions{} }
