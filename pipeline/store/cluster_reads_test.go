package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
)

// readsFixture is a few days of messages of 12 teams of 8 people, with
// threads, scores, after-hours flags, themes and cross-team mail.
func readsFixture(days []time.Time) []Message {
	var out []Message
	n := 0
	for di, day := range days {
		for team := range 12 {
			for p := range 8 {
				for m := range 6 + (team+p+di)%5 {
					sender := fmt.Sprintf("p_%02d_%d", team, p)
					rteam := team
					if m%4 == 3 {
						rteam = (team + 1 + m) % 12
					}
					r1 := fmt.Sprintf("p_%02d_%d", rteam, (p+1+m)%8)
					r2 := fmt.Sprintf("p_%02d_%d", team, (p+3)%8)
					at := day.Add(time.Duration(7+(m*5+p)%14)*time.Hour + time.Duration(p*7+m)*time.Minute)
					msg := Message{EventID: fmt.Sprintf("ev%06d", n), OccurredAt: at, IngestedAt: at.Add(time.Second),
						Channel: "email", Sender: sender, Team: fmt.Sprintf("team%02d", team),
						Recipients: []string{r1, r2}, RecipientTeams: []string{fmt.Sprintf("team%02d", rteam), fmt.Sprintf("team%02d", team)},
						ThreadID: fmt.Sprintf("th%d_%d_%d", di, team, m%3), Lang: "en", Tokens: 20, Status: "ok",
						Themes: uint16(1 << (m % 4))}
					if m%3 != 0 {
						msg.Scored, msg.Compound, msg.Label = true, float32(m%5)/5-0.4, int8(m%3-1)
					}
					if p == 0 {
						ah := m%2 == 0
						msg.AfterHours = &ah
					}
					out = append(out, msg)
					n++
				}
			}
		}
	}
	return out
}

// fillAnalysis writes the same analyze outputs to st: day and hour
// team_stats, the day network of each day (computed from single's input,
// so both stores get the same rows), anomalies, progress marks and a
// dismissal.
func fillAnalysis(t *testing.T, st *Store, days []time.Time, nets map[time.Time]*network.Result, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for di, day := range days {
		var stats []TeamStats
		var hours []TeamStats
		var teams []publish.NetRelease
		for team := range 12 {
			name := fmt.Sprintf("team%02d", team)
			f := float64(team*10 + di)
			stats = append(stats, TeamStats{WindowStart: day, Granularity: Day, Team: name, Messages: 50 + f, ActiveMembers: 8,
				ScoredMessages: 30 + f, MeanCompound: 0.01 * f, NegativeShare: 0.2, PositiveShare: 0.3, AfterHoursShare: 0.1, Epsilon: 1})
			hours = append(hours, TeamStats{WindowStart: day.Add(9 * time.Hour), Granularity: Hour, Team: name, Messages: 5 + f,
				MeanCompound: math.NaN(), NegativeShare: math.NaN(), PositiveShare: math.NaN(), AfterHoursShare: math.NaN(), Epsilon: 0.1})
			if team%5 != 4 { // some teams have no network row
				iso := team % 3
				teams = append(teams, publish.NetRelease{Window: day, Days: 1, Team: name, Senders: 8, Weight: 40 + f,
					ExternalShare: 0.25, EIIndex: -0.5, Isolated: &iso})
			}
		}
		if err := st.WriteTeamStats(ctx, Day, day, day.AddDate(0, 0, 1), stats, 5, now); err != nil {
			t.Fatal(err)
		}
		if err := st.WriteTeamStats(ctx, Hour, day, day.AddDate(0, 0, 1), hours, 5, now); err != nil {
			t.Fatal(err)
		}
		mod := 0.3
		if err := st.WriteNetwork(ctx, day, 1, nets[day], teams, GraphRelease{Nodes: 96, Modularity: &mod}, 5, 1, now); err != nil {
			t.Fatal(err)
		}
		as := []Anomaly{{WindowStart: day, Granularity: Day, Team: fmt.Sprintf("team%02d", di), Metric: "negative_share",
			Value: 0.5, Expected: 0.2, Low: 0.1, High: 0.3, Score: 0.8, Severity: Critical, Direction: "up", Detector: "level",
			Explanation: "x", DetectedAt: now}}
		if err := st.WriteAnomalies(ctx, Day, day, day.AddDate(0, 0, 1), as); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkBegun(ctx, []WindowDone{{Granularity: Day, Start: day}}, now); err != nil {
			t.Fatal(err)
		}
		if di < len(days)-1 {
			if err := st.MarkDone(ctx, []WindowDone{{Granularity: Day, Start: day, Teams: 12}}, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.WriteReview(ctx, Review{AnomalyKey: AnomalyKey{Team: "team00", Metric: "negative_share", Granularity: Day, WindowStart: days[0]},
		State: ReviewDismissed, Reason: ReasonExpected, Reviewer: "cli", ReviewedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// Every read of analyze, ingest and the commands answers on two shards
// exactly what it answers on one server for the same rows: the cluster
// connections run with distributed_product_mode = 'global' and the joins
// say GLOBAL, so no read is refused (code 288) or computed from one
// shard's half of a join.
func TestClusterAnalysisReadsMatchSingleServer(t *testing.T) {
	single, _ := migratedForTest(t)
	cluster, _, _ := clusterForTest(t, Cluster{})
	ctx := context.Background()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	days := []time.Time{today.AddDate(0, 0, -4), today.AddDate(0, 0, -3), today.AddDate(0, 0, -2)}
	msgs := readsFixture(days)
	for _, st := range []*Store{single, cluster} {
		if err := st.InsertMessages(ctx, msgs); err != nil {
			t.Fatal(err)
		}
	}
	ncfg := network.Config{Seed: 1, MinGroupSize: 5}
	nets := map[time.Time]*network.Result{}
	for _, day := range days {
		in, err := single.WindowInput(ctx, day, day.AddDate(0, 0, 1), ncfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := network.Compute(in, ncfg)
		if err != nil {
			t.Fatal(err)
		}
		nets[day] = res
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, st := range []*Store{single, cluster} {
		fillAnalysis(t, st, days, nets, now)
	}
	// One person erased (on a cluster: on every shard's local tables), so
	// that the reads also see what an erasure leaves.
	for _, st := range []*Store{single, cluster} {
		if err := st.ErasePersons(ctx, []string{"p_05_2"}); err != nil {
			t.Fatal(err)
		}
	}
	from, to := days[0], today
	reads := []struct {
		name string
		read func(st *Store) (any, error)
	}{
		{"EarliestMessage", func(st *Store) (any, error) {
			at, ok, err := st.EarliestMessage(ctx)
			return fmt.Sprint(at.UTC(), ok), err
		}},
		{"MessageTotals", func(st *Store) (any, error) {
			n, s, err := st.MessageTotals(ctx)
			return [2]uint64{n, s}, err
		}},
		{"DayCells", func(st *Store) (any, error) { return st.DayCells(ctx, from, to, 10, 8, 6, 9, 18) }},
		{"HourCells", func(st *Store) (any, error) {
			return st.HourCells(ctx, days[1].Add(10*time.Hour), days[2].Add(15*time.Hour), 7)
		}},
		{"TeamWeights", func(st *Store) (any, error) { return st.TeamWeights(ctx, from, to, ncfg) }},
		{"WindowInput", func(st *Store) (any, error) {
			in, err := st.WindowInput(ctx, from, to, ncfg)
			sort.Strings(in.Active)
			return in, err
		}},
		{"StatsHistory/day", func(st *Store) (any, error) { return st.StatsHistory(ctx, Day, to) }},
		{"StatsHistory/hour", func(st *Store) (any, error) { return st.StatsHistory(ctx, Hour, to) }},
		{"NetworkHistory", func(st *Store) (any, error) { return st.NetworkHistory(ctx, to) }},
		{"BelongingInputs", func(st *Store) (any, error) { return st.BelongingInputs(ctx, from, to) }},
		{"IsolationHistory", func(st *Store) (any, error) { return st.IsolationHistory(ctx, to, 7) }},
		{"StoredAnomalies", func(st *Store) (any, error) { return st.StoredAnomalies(ctx, Day, from, to) }},
		{"Generations", func(st *Store) (any, error) { return st.Generations(ctx, Day, from, to) }},
		{"LastDone", func(st *Store) (any, error) {
			at, ok, err := st.LastDone(ctx, Day)
			return fmt.Sprint(at.UTC(), ok), err
		}},
		{"StandingDismissals", func(st *Store) (any, error) { return st.StandingDismissals(ctx, from, to) }},
		{"ListReviewed", func(st *Store) (any, error) { return st.ListReviewed(ctx, ReviewFilter{}) }},
		{"ReviewReport", func(st *Store) (any, error) { return st.ReviewReport(ctx, from, to) }},
		{"TeamDaySummaries", func(st *Store) (any, error) { return st.TeamDaySummaries(ctx) }},
		{"DayAnomalies", func(st *Store) (any, error) { return st.DayAnomalies(ctx) }},
		{"InFlightErased", func(st *Store) (any, error) { return st.InFlightErased(ctx, now.Add(-time.Hour)) }},
		{"Erased", func(st *Store) (any, error) { return st.Erased(ctx, []string{"p_05_2", "p_05_3"}) }},
		{"ExportPerson", func(st *Store) (any, error) {
			var rows []string
			_, err := st.ExportPerson(ctx, "p_05_3", func(pc PersonColumn, row json.RawMessage) error {
				rows = append(rows, pc.Table+"."+pc.Column+" "+string(row))
				return nil
			})
			sort.Strings(rows)
			return rows, err
		}},
	}
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			want, err := r.read(single)
			if err != nil {
				t.Fatalf("single server: %v", err)
			}
			got, err := r.read(cluster)
			if err != nil {
				t.Fatalf("two shards: %v", err)
			}
			if !equalNaN(got, want) {
				t.Errorf("two shards differ from one server:\n got %.600v\nwant %.600v", got, want)
			}
			if reflect.ValueOf(want).Kind() == reflect.Slice && reflect.ValueOf(want).Len() == 0 {
				t.Errorf("the fixture gives %s nothing to compare", r.name)
			}
		})
	}
	// Every published view answers the same.
	for _, v := range PublishedViews {
		q := "SELECT count(), sum(cityHash64(formatRowNoNewline('TSV', *))) FROM " + v
		var n1, n2, h1, h2 uint64
		if err := single.Conn().QueryRow(ctx, q).Scan(&n1, &h1); err != nil {
			t.Fatalf("%s on one server: %v", v, err)
		}
		if err := cluster.Conn().QueryRow(ctx, q).Scan(&n2, &h2); err != nil {
			t.Fatalf("%s on two shards: %v", v, err)
		}
		if n1 != n2 || h1 != h2 {
			t.Errorf("%s: %d rows (hash %x) on one server, %d (hash %x) on two shards", v, n1, h1, n2, h2)
		}
	}
}

// equalNaN is reflect.DeepEqual with NaN equal to NaN.
func equalNaN(a, b any) bool {
	return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}
