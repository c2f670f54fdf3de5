package watcher

import (
	"context"
	"log/slog"
	"sync"

	"github.com/thoth-station/build-watcher/internal/submit"
	"github.com/thoth-station/build-watcher/internal/thoth"
)

// sharedThoth is the one Thoth client of the watcher's in-process submissions (the local
// executor, the image-stream back-fill): made, and the API discovered, on first use, and
// again after a failure, so that an unreachable Thoth at start-up costs nothing but a retry.
type sharedThoth struct {
	cfg *Config
	log *slog.Logger

	mu     sync.Mutex
	client *thoth.Client
}

// get returns the client, making it when there is none yet.
func (s *sharedThoth) get(ctx context.Context) (*thoth.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	c, err := submit.NewClient(ctx, submitOptions(s.cfg, ""), s.log)
	if err != nil {
		return nil, err
	}
	s.client = c
	return c, nil
}
