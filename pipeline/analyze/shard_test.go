package analyze

import (
	"flag"
	"strings"
	"testing"

	"commpulse/pipeline/store"
)

func TestShardConfig(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		shard, all int
		err        string
	}{
		{nil, 0, 1, ""},
		{[]string{"--shards", "3", "--shard", "2"}, 2, 3, ""},
		{[]string{"--shards", "4", "--shard", "commpulse-analyze-3"}, 3, 4, ""}, // COMMPULSE_SHARD=$(POD_NAME)
		{[]string{"--shards", "2", "--shard", "2"}, 0, 0, "want 0 <= shard < shards"},
		{[]string{"--shards", "0"}, 0, 1, ""}, // 0 is the default: one
		{[]string{"--shards", "-1"}, 0, 0, "want 1..1024"},
		{[]string{"--shard", "analyze-x"}, 0, 0, "want a number"},
		{[]string{"--shards", "3", "--reshard-quiet", "90m"}, 0, 3, ""},
		{[]string{"--reshard-quiet", "-1s"}, 0, 0, "reshard quiet"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cfg := Defaults()
			fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
			cfg.RegisterFlags(fs)
			err := fs.Parse(tc.args)
			if err == nil {
				err = cfg.Validate()
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || cfg.Shard != tc.shard || cfg.Shards != tc.all {
				t.Fatalf("shard %d of %d, %v; want %d of %d", cfg.Shard, cfg.Shards, err, tc.shard, tc.all)
			}
		})
	}
}

// Ownership: every team has exactly one shard, spread over all of them,
// and an analyzer refuses a store scoped to another shard.
func TestShardOwnership(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		per := make([]int, n)
		for i := range 1000 {
			team := "team-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('0'+i%10)) + string(rune(i))
			owners := 0
			for s := range n {
				if (store.AnalyzeShard{Shard: s, Shards: n}).Owns(team) {
					owners++
					per[s]++
				}
			}
			if owners != 1 {
				t.Fatalf("%d shards: team %q has %d owners", n, team, owners)
			}
		}
		for s, k := range per {
			if k < 1000/n/2 {
				t.Errorf("%d shards: shard %d owns %d of 1000 teams", n, s, k)
			}
		}
	}
	st := &store.Store{}
	cfg := Defaults()
	cfg.Privacy.Key = testNoiseKey
	cfg.Shards, cfg.Shard = 2, 1
	if _, err := New(cfg, st.ForAnalyzeShard(store.AnalyzeShard{Shard: 0, Shards: 2}), nil, nil); err == nil || !strings.Contains(err.Error(), "scoped to shard 0 of 2") {
		t.Errorf("New with a store of another shard: %v", err)
	}
}
