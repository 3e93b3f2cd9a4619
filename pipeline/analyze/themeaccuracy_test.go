package analyze

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"commpulse/nlp"
	"commpulse/pipeline/publish"
)

// themeAccuracyKeys is how many noise keys the theme accuracy is averaged
// over.
const themeAccuracyKeys = 50

// logThemeAccuracy reports what the theme counts of the team-days in
// [from, to) are worth (docs/privacy.md, theme counts): per theme, over the
// k-safe team-days and themeAccuracyKeys noise keys, the raw daily count
// (messages carrying the theme), the bounded count the noise is added to,
// the share of theme-days published and the mean absolute error of what is
// published, against the bounded count and against the raw one (and the
// messages of the median sender-day, which sets how far the cap scales the
// counts down). It does so
// for pol and, for comparison, for before (another policy: the one before
// the theme cap, say). It only logs; it returns the share of theme-days
// published under pol.
func logThemeAccuracy(t *testing.T, e *chEnv, from, to time.Time, pol, before publish.Policy) float64 {
	t.Helper()
	ctx := context.Background()
	names := nlp.ThemeNames()
	type key struct {
		day  time.Time
		team string
	}
	raw := map[key][]float64{}
	rows, err := e.st.Conn().Query(ctx, strings.ReplaceAll(fmt.Sprintf(`SELECT toDateTime(toStartOfDay(occurred_at, 'UTC'), 'UTC') AS ws,
		toString(team), sumForEach(arrayMap(i -> toFloat64(bitTest(themes, i)), range(%d)))
		FROM {db}.messages FINAL WHERE occurred_at >= ? AND occurred_at < ? AND team != '' GROUP BY ws, team`, len(names)), "{db}", e.db), from, to)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			k  key
			th []float64
		)
		if err := rows.Scan(&k.day, &k.team, &th); err != nil {
			t.Fatal(err)
		}
		raw[key{k.day.UTC(), k.team}] = th
	}
	rows.Close()
	var median float64
	if err := e.st.Conn().QueryRow(ctx, strings.ReplaceAll(`SELECT toFloat64(quantileExact(0.5)(n)) FROM (SELECT count() AS n
		FROM {db}.messages FINAL WHERE occurred_at >= ? AND occurred_at < ? AND team != '' GROUP BY sender, toDate(occurred_at, 'UTC'))`, "{db}", e.db),
		from, to).Scan(&median); err != nil {
		t.Fatal(err)
	}
	t.Logf("theme accuracy: %v messages on the median sender-day", median)

	var shareNow float64
	for _, run := range []struct {
		name string
		pol  publish.Policy
	}{
		{"before", before},
		{"in force", pol},
	} {
		var cells []publish.DayCell
		for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
			cs, err := e.st.DayCells(ctx, d, d.AddDate(0, 0, 1), run.pol.CapVolume, run.pol.CapSentiment, run.pol.CapThemes, 9, 18)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.Senders >= run.pol.K {
					cells = append(cells, c)
				}
			}
		}
		type acc struct{ raw, bounded, shown, errB, errR float64 }
		per := make([]acc, len(names))
		for _, c := range cells {
			r := raw[key{c.Window.UTC(), c.Team}]
			for i := range names {
				per[i].raw += r[i]
				per[i].bounded += c.Themes[i]
			}
		}
		for n := range themeAccuracyKeys {
			p := run.pol
			p.Key = []byte(fmt.Sprintf("theme-accuracy-key-%08d-padding-padding", n))
			pub, err := publish.New(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cells {
				r := raw[key{c.Window.UTC(), c.Team}]
				for _, rel := range pub.Themes(c) {
					i := slices.Index(names, rel.Theme)
					per[i].shown++
					per[i].errB += math.Abs(rel.Messages - c.Themes[i])
					per[i].errR += math.Abs(rel.Messages - r[i])
				}
			}
		}
		pub, err := publish.New(run.pol)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		var shown float64
		fmt.Fprintf(&b, "theme accuracy, %s: cap %v, ε %v per theme, floor %v, noise sd %.1f; %d k-safe team-days, %d noise keys\n",
			run.name, run.pol.CapThemes, run.pol.Epsilon.DayThemes, run.pol.MinThemeMessages, pub.ThemeNoise(), len(cells), themeAccuracyKeys)
		fmt.Fprintf(&b, "  %-12s %8s %8s %9s %9s %9s\n", "theme", "raw/day", "bounded", "published", "MAE bound", "MAE raw")
		days := float64(len(cells))
		for i, a := range per {
			shown += a.shown
			den := math.Max(a.shown, 1)
			fmt.Fprintf(&b, "  %-12s %8.1f %8.1f %8.1f%% %9.1f %9.1f\n", names[i], a.raw/days, a.bounded/days,
				100*a.shown/(days*themeAccuracyKeys), a.errB/den, a.errR/den)
		}
		share := shown / (days * themeAccuracyKeys * float64(len(names)))
		fmt.Fprintf(&b, "  all themes: published on %.1f%% of theme-days", 100*share)
		t.Log(b.String())
		if run.name == "in force" {
			shareNow = share
		}
	}
	return shareNow
}
