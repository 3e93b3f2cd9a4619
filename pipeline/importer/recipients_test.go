package importer

import (
	"slices"
	"testing"
)

func TestRecipients(t *testing.T) {
	type add struct {
		id                string
		internal, optedIn bool
	}
	for _, tc := range []struct {
		name           string
		senderInternal bool
		adds           []add
		want           []string
		skip           string
		dropped, notes int // recipients not opted in; messages noted as external
	}{
		{"each person once, never the sender", true, []add{{"s", true, true}, {"a", true, true}, {"a", true, true}, {"b", true, true}}, []string{"a", "b"}, "", 0, 0},
		{"not opted in is dropped and counted once", true, []add{{"a", true, false}, {"a", true, false}, {"b", true, true}}, []string{"b"}, "", 1, 0},
		{"an external recipient is noted", true, []add{{"x", false, true}}, []string{"x"}, "", 0, 1},
		{"an external sender needs a company recipient", false, []add{{"x", false, true}}, nil, SkipNoParticipants, 0, 0},
		{"an external sender with a company recipient", false, []add{{"a", true, true}}, []string{"a"}, "", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Base{stats: Stats{Skipped: map[string]int{}, Excluded: map[string]int{}, Dropped: map[string]int{}, Notes: map[string]int{}}}
			r := b.NewRecipients("s", tc.senderInternal)
			for _, a := range tc.adds {
				r.Add(a.id, a.internal, a.optedIn)
			}
			got, skip := r.Done()
			if skip != tc.skip || !slices.Equal(got, tc.want) {
				t.Fatalf("Done() = %v, %q; want %v, %q", got, skip, tc.want, tc.skip)
			}
			if d, n := b.stats.Dropped[DropRecipNotOptIn], b.stats.Notes[NoteExternalPartics]; d != tc.dropped || n != tc.notes {
				t.Errorf("dropped %d, external notes %d; want %d, %d", d, n, tc.dropped, tc.notes)
			}
		})
	}
}
