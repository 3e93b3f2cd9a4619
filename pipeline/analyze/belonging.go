package analyze

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// The team belonging index (issue 15, docs/analyze.md "Belonging"): per
// team-day and per Monday-Sunday week, a weighted sum of component scores
// (sentiment, inclusion, load), each published figure scored against the
// team's own baseline and against the organisation's teams of the day.
//
// It is post-processing of published figures only: its inputs are the
// team_stats and team_network day rows the views team_stats_k and
// team_network_k show (store.BelongingInput), and the configuration below,
// which is public. So the index adds no privacy loss, and anyone holding
// the published rows and the configuration computes the same rows, the
// explanation included (internal/attack.TestAttackBelongingIsPostProcessing
// does). Components that need a figure not published at team level
// (reciprocity, network breadth: person-level node_metrics) are left out.

// BelongingWeights are the weights of the components in the index. A
// weight of 0 leaves its component out.
type BelongingWeights struct {
	Sentiment float64 // mean compound up, negative share down
	Inclusion float64 // E-I index up (more of the team's messages to other teams), isolated share down
	Load      float64 // after-hours share down
}

// BelongingConfig configures the belonging index. Zero fields take the
// defaults of DefaultBelonging, except OwnWeight and the single weights,
// for which 0 is a setting: they are filled only when the whole struct
// (or all of Weights) is zero.
type BelongingConfig struct {
	// Weights of the components. Default sentiment 0.4, inclusion 0.4,
	// load 0.2.
	Weights BelongingWeights
	// BaselineDays is the length of a team's own baseline: its published
	// values over the BaselineDays days before the day, of the same kind
	// (working days Monday to Friday against working days, Saturdays and
	// Sundays against weekend days). Default 28.
	BaselineDays int
	// MinHistory is the fewest baseline days a figure needs to be scored
	// against the team's own baseline. Default 5.
	MinHistory int
	// MinOrgTeams is the fewest teams publishing a figure on the day for
	// it to be scored against the organisation. Default 3.
	MinOrgTeams int
	// OwnWeight is the weight of the team's own baseline in a figure's
	// score, the organisation's taking the rest, in [0, 1]. Default 0.5.
	OwnWeight float64
	// MovedAt is how far from 0 (in standard deviations) a day's
	// component score must be for the explanation to say it moved; a
	// week's, the mean of its days' scores, half as far. Default 2.
	MovedAt float64
}

// DefaultBelonging returns the default belonging configuration.
func DefaultBelonging() BelongingConfig {
	return BelongingConfig{
		Weights:      BelongingWeights{Sentiment: 0.4, Inclusion: 0.4, Load: 0.2},
		BaselineDays: 28,
		MinHistory:   5,
		MinOrgTeams:  3,
		OwnWeight:    0.5,
		MovedAt:      2,
	}
}

// The fixed parts of the computation (docs/analyze.md "Belonging").
const (
	// belongingZCap bounds every figure's score, so that one figure with a
	// small spread cannot carry the index alone.
	belongingZCap = 5.0
	// belongingMinWeekDays is the fewest daily rows a week row averages.
	belongingMinWeekDays = 3
	// madScale turns a median absolute deviation into a standard
	// deviation under normality.
	madScale = 1.4826
)

func (c BelongingConfig) withDefaults() BelongingConfig {
	d := DefaultBelonging()
	if c == (BelongingConfig{}) {
		return d
	}
	if c.Weights == (BelongingWeights{}) {
		c.Weights = d.Weights
	}
	if c.BaselineDays == 0 {
		c.BaselineDays = d.BaselineDays
	}
	if c.MinHistory == 0 {
		c.MinHistory = d.MinHistory
	}
	if c.MinOrgTeams == 0 {
		c.MinOrgTeams = d.MinOrgTeams
	}
	if c.MovedAt == 0 {
		c.MovedAt = d.MovedAt
	}
	return c
}

func (c BelongingConfig) validate() error {
	w := c.Weights
	switch {
	case w.Sentiment < 0 || w.Inclusion < 0 || w.Load < 0 || w.Sentiment+w.Inclusion+w.Load <= 0:
		return errors.New("analyze: belonging weights must be >= 0 and not all 0")
	case c.BaselineDays < 7 || c.BaselineDays > 90:
		return fmt.Errorf("analyze: belonging baseline days %d: want 7..90", c.BaselineDays)
	case c.MinHistory < 2 || c.MinHistory > c.BaselineDays:
		return fmt.Errorf("analyze: belonging min history %d: want 2..baseline days", c.MinHistory)
	case c.MinOrgTeams < 2:
		return fmt.Errorf("analyze: belonging min org teams %d: want >= 2", c.MinOrgTeams)
	case c.OwnWeight < 0 || c.OwnWeight > 1:
		return fmt.Errorf("analyze: belonging own weight %g: want 0..1", c.OwnWeight)
	case c.MovedAt <= 0:
		return fmt.Errorf("analyze: belonging moved-at %g: want > 0", c.MovedAt)
	}
	return nil
}

// RegisterFlags registers the belonging flags on fs, bound to c's fields.
func (c *BelongingConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.Float64Var(&c.Weights.Sentiment, "belonging-weight-sentiment", c.Weights.Sentiment, "weight of the sentiment component (mean compound, negative share) in the belonging index")
	fs.Float64Var(&c.Weights.Inclusion, "belonging-weight-inclusion", c.Weights.Inclusion, "weight of the inclusion component (E-I index, isolated share) in the belonging index")
	fs.Float64Var(&c.Weights.Load, "belonging-weight-load", c.Weights.Load, "weight of the load component (after-hours share) in the belonging index")
	fs.IntVar(&c.BaselineDays, "belonging-baseline-days", c.BaselineDays, "length of a team's own baseline for the belonging index, in days")
	fs.IntVar(&c.MinHistory, "belonging-min-history", c.MinHistory, "fewest baseline days a figure needs to be scored against the team's own baseline")
	fs.Float64Var(&c.OwnWeight, "belonging-own-weight", c.OwnWeight, "weight of the team's own baseline against the organisation's (0..1) in the belonging index")
	fs.Float64Var(&c.MovedAt, "belonging-moved-at", c.MovedAt, "a belonging component moved (and is named in the explanation) from this many standard deviations")
}

// The components, in the order they are explained when equally strong.
const (
	compSentiment = iota
	compInclusion
	compLoad
	nComponents
)

var componentNames = [nComponents]string{"sentiment", "inclusion", "load"}

func (w BelongingWeights) of(c int) float64 {
	return [nComponents]float64{w.Sentiment, w.Inclusion, w.Load}[c]
}

// belongingFigure is one published figure a component is built from.
type belongingFigure struct {
	key       string // in TeamBelonging.Drivers
	component int
	sign      float64 // +1: higher means more belonging
	floor     float64 // smallest spread a baseline is taken to have
	noun      string
	format    func(float64) string
	// value is the figure of a published team-day, ok=false when it is
	// not published or rests on too few messages to be read.
	value func(cfg Config, in store.BelongingInput) (float64, bool)
	// noise is the standard deviation of the publication noise on the
	// value v of in (delta method on the ratio of noisy parts).
	noise func(n figureNoise, in store.BelongingInput, v float64) float64
}

// figureNoise holds the standard deviations of the noise on the published
// parts the figures are ratios of: a parameter of the publication policy,
// public like the rest of the configuration.
type figureNoise struct {
	sum, negative, scored, afterHours, messages, netWeight, people float64
}

// noiseKey is a placeholder noise key: noise levels do not depend on the
// key, and publish.New wants one.
var noiseKey = []byte("belonging-noise-levels-only-0123456789")

func noiseLevels(p publish.Policy) figureNoise {
	p.Key = noiseKey
	pub, err := publish.New(p)
	if err != nil {
		return figureNoise{} // an invalid policy publishes nothing to score
	}
	p = pub.Policy()
	e, cs, cv := p.Epsilon, p.CapSentiment, p.CapVolume
	return figureNoise{
		sum: publish.NoiseSD(cs, e.DaySentiment), negative: publish.NoiseSD(cs, e.DayNegative), scored: publish.NoiseSD(cs, e.DayScored),
		afterHours: publish.NoiseSD(cv, e.DayAfterHours), messages: publish.NoiseSD(cv, e.DayMessages),
		netWeight: pub.NetNoise(), people: publish.NoiseSD(1, e.NetPeople),
	}
}

// ratioNoise is the standard deviation of num/den with noise sdNum on the
// numerator and sdDen on the denominator, at the ratio v.
func ratioNoise(sdNum, sdDen, v, den float64) float64 {
	if den <= 0 {
		return 0
	}
	return math.Sqrt(sdNum*sdNum+v*v*sdDen*sdDen) / den
}

func signed(v float64) string { return fmt.Sprintf("%+.2f", v) }

// sds writes a score in standard deviations, one decimal, with its sign
// (+0.0 rather than -0.0).
func sds(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0
	}
	return fmt.Sprintf("%+.1f SD", v)
}

var belongingFigures = []belongingFigure{
	{"mean_compound", compSentiment, 1, 0.02, "mean sentiment", signed,
		func(cfg Config, in store.BelongingInput) (float64, bool) {
			return in.MeanCompound, in.Scored >= float64(cfg.MinScoredDay) && !math.IsNaN(in.MeanCompound)
		},
		func(n figureNoise, in store.BelongingInput, v float64) float64 {
			return ratioNoise(n.sum, n.scored, v, in.Scored)
		}},
	{"negative_share", compSentiment, -1, 0.01, "negative share", percent,
		func(cfg Config, in store.BelongingInput) (float64, bool) {
			return in.NegativeShare, in.Scored >= float64(cfg.MinScoredDay) && !math.IsNaN(in.NegativeShare)
		},
		func(n figureNoise, in store.BelongingInput, v float64) float64 {
			return ratioNoise(n.negative, n.scored, v, in.Scored)
		}},
	{"ei_index", compInclusion, 1, 0.02, "E-I index", signed,
		func(cfg Config, in store.BelongingInput) (float64, bool) {
			return in.EIIndex, in.HasNetwork && in.Weight >= cfg.MinWeightDay && !math.IsNaN(in.EIIndex)
		},
		func(n figureNoise, in store.BelongingInput, v float64) float64 {
			// E-I = 2 external/(internal + external) - 1, each weight noisy.
			p := (v + 1) / 2
			return 2 * n.netWeight * math.Sqrt((1-p)*(1-p)+p*p) / math.Max(in.Weight, 1)
		}},
	{"isolated_share", compInclusion, -1, 0.02, "share of isolated members", percent,
		func(_ Config, in store.BelongingInput) (float64, bool) {
			if !in.HasNetwork || math.IsNaN(in.Isolated) || in.NetSenders == 0 {
				return math.NaN(), false
			}
			return math.Min(1, in.Isolated/float64(in.NetSenders)), true
		},
		func(n figureNoise, in store.BelongingInput, _ float64) float64 {
			return n.people / float64(max(in.NetSenders, 1))
		}},
	{"after_hours_share", compLoad, -1, 0.01, "after-hours share", percent,
		func(cfg Config, in store.BelongingInput) (float64, bool) {
			return in.AfterHoursShare, in.Messages >= float64(cfg.MinScoredDay) && !math.IsNaN(in.AfterHoursShare)
		},
		func(n figureNoise, in store.BelongingInput, v float64) float64 {
			return ratioNoise(n.afterHours, n.messages, v, in.Messages)
		}},
}

// BelongingSpan is the range of day windows whose published inputs
// Belonging needs when day closes: the baseline of every day of day's
// week, and day itself.
func BelongingSpan(cfg Config, day time.Time) (from, to time.Time) {
	cfg = cfg.withDefaults()
	return day.AddDate(0, 0, -cfg.Belonging.BaselineDays-6), day.AddDate(0, 0, 1)
}

// Belonging returns the team_belonging rows written when the day window
// day closes: the daily rows of day and, when day is a Sunday, the rows of
// its Monday-Sunday week (week is then that Monday, else zero). inputs are
// the published inputs of BelongingSpan (any others are ignored). It reads
// nothing else, so the rows are a function of published figures and cfg.
func Belonging(cfg Config, day time.Time, inputs []store.BelongingInput) (rows []store.TeamBelonging, week time.Time) {
	cfg = cfg.withDefaults()
	day = day.UTC()
	idx := indexInputs(inputs)
	noise := noiseLevels(cfg.Privacy)
	rows = belongingDay(cfg, noise, day, idx)
	if day.Weekday() != time.Sunday {
		return rows, time.Time{}
	}
	week = day.AddDate(0, 0, -6)
	var daily []store.TeamBelonging
	for d := week; d.Before(day); d = d.AddDate(0, 0, 1) {
		daily = append(daily, belongingDay(cfg, noise, d, idx)...)
	}
	daily = append(daily, rows...)
	return append(rows, belongingWeek(cfg, week, daily)...), week
}

// inputIndex holds the inputs by day and team.
type inputIndex map[time.Time]map[string]store.BelongingInput

func indexInputs(inputs []store.BelongingInput) inputIndex {
	idx := inputIndex{}
	for _, in := range inputs {
		d := in.Day.UTC()
		if idx[d] == nil {
			idx[d] = map[string]store.BelongingInput{}
		}
		idx[d][in.Team] = in
	}
	return idx
}

func weekend(d time.Time) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

// belongingDay computes the daily rows of day, one per team with a
// published team_stats row on day and at least one component scored.
func belongingDay(cfg Config, noise figureNoise, day time.Time, idx inputIndex) []store.TeamBelonging {
	bc := cfg.Belonging
	today := idx[day]
	teams := make([]string, 0, len(today))
	for team := range today {
		teams = append(teams, team)
	}
	sort.Strings(teams)
	// The organisation's values of each figure on day.
	org := make([][]float64, len(belongingFigures))
	for i, f := range belongingFigures {
		for _, team := range teams {
			if v, ok := f.value(cfg, today[team]); ok {
				org[i] = append(org[i], v)
			}
		}
	}
	orgMid, orgScale := make([]float64, len(belongingFigures)), make([]float64, len(belongingFigures))
	for i, f := range belongingFigures {
		if len(org[i]) >= bc.MinOrgTeams {
			orgMid[i], orgScale[i] = robust(org[i], f.floor)
		} else {
			orgScale[i] = math.NaN()
		}
	}
	// A difference is read against the spread of the baseline or the
	// noise of the day's figure, whichever is larger: the median absolute
	// deviation of a few noisy days can be smaller than the noise (it
	// understates the spread of Laplace noise by about a quarter).
	var out []store.TeamBelonging
	for _, team := range teams {
		in := today[team]
		r := store.TeamBelonging{WindowStart: day, WindowDays: 1, Team: team, Days: 1, BaselineDays: bc.BaselineDays,
			ActiveMembers: in.ActiveMembers, Drivers: map[string]float64{}}
		var sum, n [nComponents]float64
		for i, f := range belongingFigures {
			if bc.Weights.of(f.component) <= 0 {
				continue
			}
			v, ok := f.value(cfg, in)
			if !ok {
				continue
			}
			var hist []float64
			for d := day.AddDate(0, 0, -bc.BaselineDays); d.Before(day); d = d.AddDate(0, 0, 1) {
				if weekend(d) != weekend(day) {
					continue
				}
				if past, ok := idx[d][team]; ok {
					if pv, ok := f.value(cfg, past); ok {
						hist = append(hist, pv)
					}
				}
			}
			sd := f.noise(noise, in, v)
			teamZ, orgZ := math.NaN(), math.NaN()
			if len(hist) >= bc.MinHistory {
				usual, scale := robust(hist, f.floor)
				teamZ = clampZ((v - usual) / math.Max(scale, sd))
				r.Drivers[f.key+".usual"] = usual
				r.Drivers[f.key+".team_z"] = teamZ
			}
			if !math.IsNaN(orgScale[i]) {
				orgZ = clampZ((v - orgMid[i]) / math.Max(orgScale[i], sd))
				r.Drivers[f.key+".org_z"] = orgZ
			}
			var s float64
			switch {
			case !math.IsNaN(teamZ) && !math.IsNaN(orgZ):
				s = bc.OwnWeight*teamZ + (1-bc.OwnWeight)*orgZ
			case !math.IsNaN(teamZ):
				s = teamZ
			case !math.IsNaN(orgZ):
				s = orgZ
			default:
				continue
			}
			r.Drivers[f.key] = v
			sum[f.component] += f.sign * s
			n[f.component]++
		}
		comps := [nComponents]float64{}
		var score, weights float64
		for c := range nComponents {
			comps[c] = math.NaN()
			if n[c] == 0 {
				continue
			}
			comps[c] = sum[c] / n[c]
			w := bc.Weights.of(c)
			score += w * comps[c]
			weights += w
		}
		if weights == 0 {
			continue
		}
		r.Sentiment, r.Inclusion, r.Load = comps[compSentiment], comps[compInclusion], comps[compLoad]
		r.Score = score / weights
		r.Belonging = indexOf(r.Score)
		r.Explanation = ExplainBelonging(cfg, r)
		out = append(out, r)
	}
	return out
}

// belongingWeek averages the daily rows of one week per team: the index,
// the score, each component over the days it was scored, and each driver
// over the days it is present. A team needs belongingMinWeekDays daily rows.
func belongingWeek(cfg Config, monday time.Time, daily []store.TeamBelonging) []store.TeamBelonging {
	byTeam := map[string][]store.TeamBelonging{}
	for _, r := range daily {
		byTeam[r.Team] = append(byTeam[r.Team], r)
	}
	teams := make([]string, 0, len(byTeam))
	for team := range byTeam {
		teams = append(teams, team)
	}
	sort.Strings(teams)
	var out []store.TeamBelonging
	for _, team := range teams {
		days := byTeam[team]
		if len(days) < belongingMinWeekDays {
			continue
		}
		w := store.TeamBelonging{WindowStart: monday, WindowDays: 7, Team: team, Days: len(days),
			BaselineDays: cfg.Belonging.BaselineDays, ActiveMembers: days[0].ActiveMembers, Drivers: map[string]float64{}}
		var comp [nComponents][]float64
		drivers := map[string][]float64{}
		for _, d := range days {
			w.Belonging += d.Belonging / float64(len(days))
			w.Score += d.Score / float64(len(days))
			w.ActiveMembers = min(w.ActiveMembers, d.ActiveMembers)
			for c, v := range [nComponents]float64{d.Sentiment, d.Inclusion, d.Load} {
				if !math.IsNaN(v) {
					comp[c] = append(comp[c], v)
				}
			}
			for k, v := range d.Drivers {
				drivers[k] = append(drivers[k], v)
			}
		}
		w.Sentiment, w.Inclusion, w.Load = mean(comp[compSentiment]), mean(comp[compInclusion]), mean(comp[compLoad])
		for k, vs := range drivers {
			w.Drivers[k] = mean(vs)
		}
		w.Explanation = ExplainBelonging(cfg, w)
		out = append(out, w)
	}
	return out
}

// mean is the mean of vs in order, NaN when empty.
func mean(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

// robust returns the median of vs and its spread: the median absolute
// deviation scaled to a standard deviation, at least floor.
func robust(vs []float64, floor float64) (mid, scale float64) {
	mid = median(vs)
	dev := make([]float64, len(vs))
	for i, v := range vs {
		dev[i] = math.Abs(v - mid)
	}
	return mid, math.Max(floor, madScale*median(dev))
}

func median(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func clampZ(z float64) float64 { return math.Max(-belongingZCap, math.Min(belongingZCap, z)) }

// indexOf maps a score to the 0..100 index: 50 is usual, 10 points per
// standard deviation.
func indexOf(score float64) float64 { return math.Max(0, math.Min(100, 50+10*score)) }

// belongingToday turns the day's released rows (what processDay just
// wrote to team_stats and team_network) into the inputs the published
// views show of them.
func belongingToday(kept []TeamStats, teams []publish.NetRelease) []store.BelongingInput {
	net := map[string]publish.NetRelease{}
	for _, t := range teams {
		net[t.Team] = t
	}
	out := make([]store.BelongingInput, 0, len(kept))
	for _, s := range kept {
		in := store.BelongingInput{Day: s.WindowStart.UTC(), Team: s.Team, ActiveMembers: s.ActiveMembers, Messages: s.Messages,
			Scored: s.ScoredMessages, MeanCompound: s.MeanCompound, NegativeShare: s.NegativeShare,
			AfterHoursShare: s.AfterHoursShare, EIIndex: math.NaN(), Isolated: math.NaN()}
		if t, ok := net[s.Team]; ok {
			in.HasNetwork, in.NetSenders, in.Weight, in.EIIndex = true, uint32(t.Senders), t.Weight, t.EIIndex
			if t.Isolated != nil {
				in.Isolated = float64(uint32(*t.Isolated))
			}
		}
		out = append(out, in)
	}
	return out
}

// belonging computes and writes the belonging rows of a closed day: the
// day's released rows (kept, teams: every team's, since each team is
// scored against the organisation's teams of the day) with the published
// history before it. A shard writes its own teams' rows; it returns the
// rows written (the forecast stage reads the day's).
func (a *Analyzer) belonging(ctx context.Context, day time.Time, kept []TeamStats, teams []publish.NetRelease, now time.Time) ([]store.TeamBelonging, error) {
	from, _ := BelongingSpan(a.cfg, day)
	inputs, err := a.db.BelongingInputs(ctx, from, day)
	if err != nil {
		return nil, a.fail("read", err)
	}
	rows, week := Belonging(a.cfg, day, append(inputs, belongingToday(kept, teams)...))
	rows = owned(a.own, rows, func(r store.TeamBelonging) string { return r.Team })
	if err := a.db.WriteBelonging(ctx, day, week, rows, a.cfg.Privacy.K, now); err != nil {
		return nil, a.fail("write", err)
	}
	return rows, nil
}

// ExplainBelonging returns the explanation of a team_belonging row under
// cfg: the index against usual, the components that moved (by at least
// MovedAt) with the figures behind them, and the steady ones. It reads
// nothing but r's own numbers and cfg.
func ExplainBelonging(cfg Config, r store.TeamBelonging) string {
	cfg = cfg.withDefaults()
	bc := cfg.Belonging
	weekly := r.WindowDays == 7
	var b strings.Builder
	if weekly {
		fmt.Fprintf(&b, "%s, week of %s (%d days): belonging %.0f of 100 on average, %s.", r.Team,
			r.WindowStart.UTC().Format("Mon 2 Jan 2006"), r.Days, r.Belonging, level(r.Score))
	} else {
		fmt.Fprintf(&b, "%s on %s: belonging %.0f of 100, %s.", r.Team, r.WindowStart.UTC().Format("Mon 2 Jan 2006"), r.Belonging, level(r.Score))
	}
	comps := [nComponents]float64{r.Sentiment, r.Inclusion, r.Load}
	movedAt := movedAt(bc, r)
	var moved, steady, missing []int
	for c, v := range comps {
		switch {
		case math.IsNaN(v):
			if bc.Weights.of(c) > 0 {
				missing = append(missing, c)
			}
		case math.Abs(v) >= movedAt:
			moved = append(moved, c)
		default:
			steady = append(steady, c)
		}
	}
	sort.SliceStable(moved, func(i, j int) bool {
		return bc.Weights.of(moved[i])*math.Abs(comps[moved[i]]) > bc.Weights.of(moved[j])*math.Abs(comps[moved[j]])
	})
	switch {
	case len(moved) == 0 && weekly:
		fmt.Fprintf(&b, " No component moved by %.1f SD or more on average.", movedAt)
	case len(moved) == 0:
		fmt.Fprintf(&b, " No component moved by %.1f SD or more.", movedAt)
	default:
		b.WriteString(" Moved: ")
		for i, c := range moved {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s: %s", componentNames[c], sds(comps[c]), figureWords(r, c, weekly))
		}
		b.WriteString(".")
	}
	if len(steady) > 0 {
		var parts []string
		for _, c := range steady {
			parts = append(parts, componentNames[c]+" "+sds(comps[c]))
		}
		fmt.Fprintf(&b, " Steady: %s.", strings.Join(parts, ", "))
	}
	if len(missing) > 0 {
		var parts []string
		for _, c := range missing {
			parts = append(parts, componentNames[c])
		}
		fmt.Fprintf(&b, " Not scored (too few published figures): %s.", strings.Join(parts, ", "))
	}
	if len(moved) > 0 {
		fmt.Fprintf(&b, " %s.", baselinesWords(r))
	}
	return b.String()
}

// movedAt is the threshold of "moved" for r: MovedAt for a day, and
// MovedAt/2 for a week, whose components are means of three to seven
// daily scores (a three-day incident at 4 SD averages about 1.7 over the
// week). Half, not MovedAt/√days: the daily scores of a team are not
// independent, nor normal (measured in docs/analyze.md).
func movedAt(bc BelongingConfig, r store.TeamBelonging) float64 {
	if r.WindowDays == 7 {
		return bc.MovedAt / 2
	}
	return bc.MovedAt
}

// level says where a score puts the index against usual.
func level(score float64) string {
	switch {
	case math.Abs(score) < 0.05:
		return "at its usual level"
	case score < 0:
		return fmt.Sprintf("%.1f SD below its usual level", -score)
	default:
		return fmt.Sprintf("%.1f SD above its usual level", score)
	}
}

// figureWords describes the figures of component c of r: value, the
// team's usual value, and the scores against each baseline.
func figureWords(r store.TeamBelonging, c int, weekly bool) string {
	var parts []string
	for _, f := range belongingFigures {
		v, ok := r.Drivers[f.key]
		if f.component != c || !ok {
			continue
		}
		var s strings.Builder
		s.WriteString(f.noun + " " + f.format(v))
		if weekly {
			s.WriteString(" on average")
		}
		if u, ok := r.Drivers[f.key+".usual"]; ok {
			s.WriteString(", usual " + f.format(u))
		}
		var zs []string
		if z, ok := r.Drivers[f.key+".team_z"]; ok {
			zs = append(zs, "team "+sds(z))
		} else {
			zs = append(zs, "no baseline of the team's own yet")
		}
		if z, ok := r.Drivers[f.key+".org_z"]; ok {
			zs = append(zs, "organisation "+sds(z))
		}
		s.WriteString(" (" + strings.Join(zs, ", ") + ")")
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " and ")
}

// baselinesWords names the two baselines of r's scores.
func baselinesWords(r store.TeamBelonging) string {
	span := fmt.Sprintf("%d days", r.BaselineDays)
	if r.BaselineDays%7 == 0 {
		span = fmt.Sprintf("%d weeks", r.BaselineDays/7)
	}
	own := "the team's working days of the previous " + span
	switch {
	case r.WindowDays == 7:
		own = "the team's days of the same kind (working or weekend) over the previous " + span + ", day by day"
	case weekend(r.WindowStart.UTC()):
		own = "the team's weekend days of the previous " + span
	}
	return "SD against " + own + " (team) and against the organisation's teams of the same day (organisation)"
}
