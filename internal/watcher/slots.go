package watcher

import (
	"sort"
	"sync"
	"time"
)

// prState is where one of our runs is in its life.
type prState int

const (
	prPending prState = iota // queued: a PipelineRun's spec.status PipelineRunPending, a suspended Workflow
	prStarted                // started, not finished
	prDone                   // finished, successfully or not
)

// slots counts the runs of one target as the informer shows them, plus the ones
// this watcher started that the informer has not shown started yet (reservations, like a
// ReplicaSet controller's expectations): running = started + reserved never exceeds max.
type slots struct {
	mu       sync.Mutex
	max      int
	started  map[string]struct{}
	reserved map[string]struct{}
	pending  map[string]time.Time // name -> queued-at
	// placed holds runs placed here whose creation is under way; they count as pending
	// in placement, so that builds placed at the same moment spread by load.
	placed map[string]struct{}
}

func newSlots(max int) *slots {
	return &slots{
		max: max, started: map[string]struct{}{}, reserved: map[string]struct{}{},
		pending: map[string]time.Time{}, placed: map[string]struct{}{},
	}
}

func (s *slots) setMax(max int) {
	s.mu.Lock()
	s.max = max
	s.mu.Unlock()
}

// observe records what the informer shows of a run.
func (s *slots) observe(name string, state prState, queuedAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case prPending:
		if _, ok := s.reserved[name]; ok {
			return // started by us; the informer has not caught up
		}
		delete(s.started, name)
		s.pending[name] = queuedAt
	case prStarted:
		delete(s.reserved, name)
		delete(s.pending, name)
		s.started[name] = struct{}{}
	case prDone:
		s.forgetLocked(name)
	}
}

// forget drops a deleted run.
func (s *slots) forget(name string) {
	s.mu.Lock()
	s.forgetLocked(name)
	s.mu.Unlock()
}

func (s *slots) forgetLocked(name string) {
	delete(s.reserved, name)
	delete(s.pending, name)
	delete(s.started, name)
}

// admit decides how a new run is made: started, when there is room and nothing waits
// before it (then a slot is reserved), or pending. known is true when the run is already
// counted (seen by the informer, or made a moment ago): then nothing is to be made.
func (s *slots) admit(name string, queuedAt time.Time) (start, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.placed, name)
	_, reserved := s.reserved[name]
	_, pending := s.pending[name]
	_, started := s.started[name]
	if reserved || pending || started {
		return false, true
	}
	if len(s.pending) == 0 && len(s.started)+len(s.reserved) < s.max {
		s.reserved[name] = struct{}{}
		return true, false
	}
	s.pending[name] = queuedAt
	return false, false
}

// abandon undoes admit's bookkeeping for a run that was not made (or already existed).
func (s *slots) abandon(name string) {
	s.mu.Lock()
	delete(s.placed, name)
	delete(s.reserved, name)
	delete(s.pending, name)
	s.mu.Unlock()
}

// queued is a pending run.
type queued struct {
	name string
	at   time.Time
}

// next takes the oldest pending runs that fit, reserving a slot for each.
func (s *slots) next() []queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.max - len(s.started) - len(s.reserved)
	if room <= 0 || len(s.pending) == 0 {
		return nil
	}
	all := make([]queued, 0, len(s.pending))
	for n, at := range s.pending {
		all = append(all, queued{n, at})
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].at.Equal(all[j].at) {
			return all[i].at.Before(all[j].at)
		}
		return all[i].name < all[j].name
	})
	if len(all) > room {
		all = all[:room]
	}
	for _, q := range all {
		delete(s.pending, q.name)
		s.reserved[q.name] = struct{}{}
	}
	return all
}

// requeue puts back a run whose start failed.
func (s *slots) requeue(name string, queuedAt time.Time) {
	s.mu.Lock()
	delete(s.reserved, name)
	s.pending[name] = queuedAt
	s.mu.Unlock()
}

// unplace drops a placement; admit already did when the run was made.
func (s *slots) unplace(name string) {
	s.mu.Lock()
	delete(s.placed, name)
	s.mu.Unlock()
}

// place counts a run placed here until admit, unplace or abandon.
func (s *slots) place(name string) {
	s.mu.Lock()
	s.placed[name] = struct{}{}
	s.mu.Unlock()
}

// counts returns running (started + reserved) and pending (placed runs included).
func (s *slots) counts() (running, pending, max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.started) + len(s.reserved), len(s.pending) + len(s.placed), s.max
}
