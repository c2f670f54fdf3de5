package watcher

import (
	"testing"
	"time"
)

func TestSlots(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		do   string // admit, observe-started, observe-pending, observe-done, next, abandon, place
		name string
		at   int
		// want: for admit "start"/"pending"/"known"; for next the names started.
		want []string
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
		// final running, pending
		running, pending int
	}{
		{"fills the slots, then queues", 2, []step{
			{do: "admit", name: "a", want: []string{"start"}},
			{do: "admit", name: "b", want: []string{"start"}},
			{do: "admit", name: "c", at: 3, want: []string{"pending"}},
		}, 2, 1},
		{"a queue keeps later runs waiting although a slot is free", 2, []step{
			{do: "observe-pending", name: "old", at: 1},
			{do: "admit", name: "new", at: 2, want: []string{"pending"}},
			{do: "next", want: []string{"old", "new"}},
		}, 2, 0},
		{"oldest first, ties by name", 1, []step{
			{do: "observe-pending", name: "b", at: 5},
			{do: "observe-pending", name: "a", at: 5},
			{do: "observe-pending", name: "z", at: 1},
			{do: "next", want: []string{"z"}},
			{do: "next", want: nil},
			{do: "observe-done", name: "z"},
			{do: "next", want: []string{"a"}},
		}, 1, 1},
		{"a run made twice is counted once", 3, []step{
			{do: "admit", name: "a", want: []string{"start"}},
			{do: "admit", name: "a", want: []string{"known"}},
			{do: "observe-started", name: "a"},
			{do: "admit", name: "a", want: []string{"known"}},
		}, 1, 0},
		{"a stale pending event does not undo a start", 1, []step{
			{do: "observe-pending", name: "a", at: 1},
			{do: "next", want: []string{"a"}},
			{do: "observe-pending", name: "a", at: 1},
			{do: "next", want: nil},
			{do: "observe-started", name: "a"},
		}, 1, 0},
		{"abandon frees the reservation", 1, []step{
			{do: "admit", name: "a", want: []string{"start"}},
			{do: "abandon", name: "a"},
			{do: "admit", name: "b", want: []string{"start"}},
		}, 1, 0},
		{"placements count as pending until admitted", 1, []step{
			{do: "place", name: "a"},
			{do: "place", name: "b"},
			{do: "admit", name: "a", want: []string{"start"}},
		}, 1, 1},
		{"a placement whose run existed already is dropped", 2, []step{
			{do: "observe-started", name: "a"},
			{do: "place", name: "a"},
			{do: "unplace", name: "a"},
		}, 1, 0},
		{"unplace after admit keeps the admitted run", 1, []step{
			{do: "place", name: "a"},
			{do: "admit", name: "a", want: []string{"start"}},
			{do: "unplace", name: "a"},
			{do: "place", name: "b"},
			{do: "admit", name: "b", want: []string{"pending"}},
			{do: "unplace", name: "b"},
		}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSlots(tc.max)
			for i, st := range tc.steps {
				switch st.do {
				case "admit":
					start, known := s.admit(st.name, at(st.at))
					got := "pending"
					if known {
						got = "known"
					} else if start {
						got = "start"
					}
					if got != st.want[0] {
						t.Fatalf("step %d: admit %s = %s, want %s", i, st.name, got, st.want[0])
					}
				case "observe-started":
					s.observe(st.name, prStarted, at(st.at))
				case "observe-pending":
					s.observe(st.name, prPending, at(st.at))
				case "observe-done":
					s.observe(st.name, prDone, at(st.at))
				case "abandon":
					s.abandon(st.name)
				case "place":
					s.place(st.name)
				case "unplace":
					s.unplace(st.name)
				case "next":
					var got []string
					for _, q := range s.next() {
						got = append(got, q.name)
					}
					if len(got) != len(st.want) {
						t.Fatalf("step %d: next = %v, want %v", i, got, st.want)
					}
					for j := range got {
						if got[j] != st.want[j] {
							t.Fatalf("step %d: next = %v, want %v", i, got, st.want)
						}
					}
				}
			}
			running, pending, _ := s.counts()
			if running != tc.running || pending != tc.pending {
				t.Errorf("running %d, pending %d; want %d, %d", running, pending, tc.running, tc.pending)
			}
		})
	}
}
