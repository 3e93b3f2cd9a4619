package publish

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"

	"commpulse/nlp"
)

// MinK is the smallest minimum group size the product accepts: no
// configuration publishes a team figure of fewer than five senders.
const MinK = 5

// Budget is the privacy loss ε of each released figure, for one person's
// messages in one day window (the privacy unit). The figures of one
// release are composed by addition (basic composition of pure ε-DP), so
// the loss of a person-day is the sum of the figures they can influence;
// Policy.PerPersonDay adds them up. Zero disables a figure: it is not
// published at all.
type Budget struct {
	// Day team_stats figures.
	DaySenders    float64 // distinct senders (sensitivity 1)
	DayMessages   float64 // contribution-bounded message count (sensitivity CapVolume)
	DayAfterHours float64 // of which after hours (sensitivity CapVolume)
	DayScored     float64 // scored messages, the sentiment denominator (CapSentiment)
	DaySentiment  float64 // sum of compound (CapSentiment: |compound| <= 1)
	DayNegative   float64 // negative messages (CapSentiment)
	DayPositive   float64 // positive messages (CapSentiment)
	// DayIsolated is the count of a team's newly isolated members (the
	// isolation anomaly). Off (0) by default: whether one person is
	// isolated depends on everyone who wrote to them, so one person-day
	// (a hub's) can move the count by a whole degree, which no cap on that
	// person's own messages bounds; calibrating to sensitivity 1 would
	// understate the loss. NetPeople likewise.
	DayIsolated float64
	// DayThemes is the loss of each theme count of a team-day (the
	// messages about workload, recognition, ...: nlp.ThemeNames): one
	// person's messages move a count by at most CapThemes, and a message
	// can carry every theme, so the themes of a team-day together cost
	// len(nlp.ThemeNames()) times it (Policy.ThemesEpsilon).
	DayThemes float64
	// HourMessages is the loss of all hour cells of one day together: a
	// person's weights are bounded per day, so the L1 sensitivity of the
	// day's vector of hourly counts is CapVolume however many hours they
	// wrote in.
	HourMessages float64
	// Network figures of a team in a day window. A rolling window is
	// released weekly with these budgets divided by RollingReleases (see
	// Publisher.Net), so its releases cost a person-day what the day
	// window costs.
	NetSenders float64 // distinct senders of the team in the window
	NetWeight  float64 // internal and external outgoing weight (L1 sensitivity CapVolume)
	NetPeople  float64 // isolated members; off by default (see DayIsolated)
	// GraphNodes is the organisation's senders of a window (sensitivity 1).
	GraphNodes float64
}

// Policy is the publication rule every team-level output passes: at least K
// distinct senders, contribution bounding and noise. See docs/privacy.md.
type Policy struct {
	// K is the minimum number of distinct senders of a team in a window for
	// any figure of it to be published. At least MinK (5).
	K int
	// CapVolume bounds one person's weight in a day's volume figures
	// (messages, after hours, network weight): a person who sent n > Cap
	// messages counts as Cap, each message weighing Cap/n. It is the
	// sensitivity the volume noise is calibrated to.
	CapVolume float64
	// CapSentiment bounds one person's weight in a day's sentiment figures
	// the same way; the weighting keeps each person's own mean.
	CapSentiment float64
	// CapThemes bounds one person's weight in each theme count of a day
	// the same way, over the same n as CapVolume (the sender's messages of
	// the day over all teams): each message weighs min(1, CapThemes/n), so
	// one person adds at most CapThemes to any theme count. It is the
	// sensitivity of the theme noise.
	CapThemes float64
	// MinPeople is the smallest published count of people (isolated
	// members): a noisy count below it is published as "fewer than
	// MinPeople" (NULL), so no count singles out one or two people.
	MinPeople int
	// MinThemeMessages is the smallest published theme count: a theme's
	// noisy count of a team-day below it is not published (no row), so no
	// published count reads "a few messages about conflict". The noise,
	// not this floor, is what hides one person: one person can weigh up to
	// CapThemes in a count. The default is set so that a theme nobody used
	// passes it on about 7 in 100 team-days: for the discrete Laplace of
	// scale b = (CapThemes+Grid)/DayThemes, P(noise >= f) = q^(f/Grid)/(1+q)
	// with q = exp(-Grid/b), about exp(-f/b)/2 (docs/privacy.md).
	MinThemeMessages float64
	// RollingReleases is how many rolling network windows one person-day
	// falls into (28-day windows released every 7 days: 4).
	RollingReleases int
	Epsilon         Budget
	// EpsilonScale multiplies every budget (0 means 1): one knob from the
	// accuracy-first default towards a stricter guarantee (0.25 divides
	// every ε by four, and multiplies every noise by four).
	EpsilonScale float64
	// Key seeds the noise stream (see noise.go); at least 32 bytes. Nil:
	// a random key per process.
	Key []byte
}

// DefaultPolicy returns the defaults (the one place they live); the
// figures behind them are in docs/privacy.md.
func DefaultPolicy() Policy {
	return Policy{
		K:                MinK,
		CapVolume:        60,
		CapSentiment:     10,
		CapThemes:        10,
		MinPeople:        3,
		MinThemeMessages: 20,
		RollingReleases:  4,
		Epsilon: Budget{
			DaySenders: 0.25, DayMessages: 6, DayAfterHours: 0.5,
			DayScored: 4, DaySentiment: 6, DayNegative: 6, DayPositive: 0.5,
			DayThemes:    1,
			HourMessages: 1,
			NetSenders:   0.25, NetWeight: 8,
			GraphNodes: 0.25,
		},
	}
}

// Validate reports the first invalid field.
func (p Policy) Validate() error {
	switch {
	case p.K < MinK:
		return fmt.Errorf("publish: k %d: must be at least %d", p.K, MinK)
	case !(p.CapVolume >= 1) || !(p.CapSentiment >= 1) || !(p.CapThemes >= 1):
		return fmt.Errorf("publish: contribution caps %g, %g, %g (volume, sentiment, themes): must be >= 1", p.CapVolume, p.CapSentiment, p.CapThemes)
	case p.MinPeople < 2:
		return fmt.Errorf("publish: min people %d: must be >= 2", p.MinPeople)
	case !(p.MinThemeMessages >= 1) || math.IsInf(p.MinThemeMessages, 0):
		return fmt.Errorf("publish: min theme messages %g: must be finite and >= 1", p.MinThemeMessages)
	case p.RollingReleases < 1:
		return errors.New("publish: rolling releases must be >= 1")
	case p.EpsilonScale < 0 || math.IsNaN(p.EpsilonScale) || math.IsInf(p.EpsilonScale, 0):
		return fmt.Errorf("publish: epsilon scale %g: must be finite and >= 0", p.EpsilonScale)
	case p.Key != nil && len(p.Key) < 32:
		return fmt.Errorf("publish: noise key of %d bytes: want at least 32", len(p.Key))
	}
	for _, fig := range p.Epsilon.Figures() {
		if e := *fig.Epsilon; e < 0 || math.IsNaN(e) || math.IsInf(e, 0) {
			return fmt.Errorf("publish: epsilon %s %g: must be finite and >= 0", fig.Name, e)
		}
	}
	return nil
}

// budget is Epsilon times EpsilonScale: the budgets in force.
func (p Policy) budget() Budget {
	b := p.Epsilon
	if f := p.EpsilonScale; f != 0 {
		for _, fig := range b.Figures() {
			*fig.Epsilon *= f
		}
	}
	return b
}

// Figure names one budget of a Budget: its flag name (--privacy-epsilon)
// and a pointer to its ε.
type Figure struct {
	Name    string
	Epsilon *float64
}

// Figures lists every budget of b, in a fixed order: the one list that
// validation, the flag, the scale and the privacy report read.
func (b *Budget) Figures() []Figure {
	return []Figure{
		{"day-senders", &b.DaySenders}, {"day-messages", &b.DayMessages}, {"day-after-hours", &b.DayAfterHours},
		{"day-scored", &b.DayScored}, {"day-sentiment", &b.DaySentiment}, {"day-negative", &b.DayNegative},
		{"day-positive", &b.DayPositive}, {"day-isolated", &b.DayIsolated}, {"day-themes", &b.DayThemes},
		{"hour-messages", &b.HourMessages},
		{"net-senders", &b.NetSenders}, {"net-weight", &b.NetWeight}, {"net-people", &b.NetPeople},
		{"graph-nodes", &b.GraphNodes},
	}
}

// PerPersonDay is the privacy loss ε of one person's messages of one day
// over everything published about it (basic composition): the day and hour
// team figures, the day's theme counts, the day network, the
// RollingReleases rolling windows the day falls into (each at
// 1/RollingReleases of the day network's budget), and the organisation's
// node count of each of those network windows.
func (p Policy) PerPersonDay() float64 {
	b := p.budget()
	return p.DayEpsilon() + p.ThemesEpsilon() + b.HourMessages + 2*(b.NetSenders+b.NetWeight+b.NetPeople+b.GraphNodes)
}

// ThemesEpsilon is the privacy loss of one team-day's theme release: every
// theme of nlp.ThemeNames at DayThemes (team_themes.epsilon), published or
// not, since the floor is applied to the noisy count.
func (p Policy) ThemesEpsilon() float64 {
	return float64(len(nlp.ThemeNames())) * p.budget().DayThemes
}

// DayEpsilon is the privacy loss of one released team-day row
// (team_stats.epsilon) plus the day's isolation count.
func (p Policy) DayEpsilon() float64 {
	b := p.budget()
	return b.DaySenders + b.DayMessages + b.DayAfterHours + b.DayScored + b.DaySentiment + b.DayNegative + b.DayPositive + b.DayIsolated
}

// RegisterFlags registers the policy's flags on fs, defaults from p.
func (p *Policy) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&p.K, "k", p.K, fmt.Sprintf("minimum distinct senders for any team-level figure (>= %d)", MinK))
	fs.IntVar(&p.K, "min-group-size", p.K, "same as --k")
	fs.Float64Var(&p.CapVolume, "privacy-cap-volume", p.CapVolume, "per person-day weight bound of volume figures (messages)")
	fs.Float64Var(&p.CapSentiment, "privacy-cap-sentiment", p.CapSentiment, "per person-day weight bound of sentiment figures")
	fs.Float64Var(&p.CapThemes, "privacy-cap-themes", p.CapThemes, "per person-day weight bound of each theme count")
	fs.IntVar(&p.MinPeople, "privacy-min-people", p.MinPeople, "smallest published count of people (isolated members)")
	fs.Float64Var(&p.MinThemeMessages, "privacy-min-theme-messages", p.MinThemeMessages, "smallest published theme count of a team-day (noisy; below it no row)")
	fs.Float64Var(&p.EpsilonScale, "privacy-epsilon-scale", p.EpsilonScale, "multiply every epsilon (0 or 1: as set; 0.25: four times the noise)")
	fs.Func("privacy-epsilon", "per-figure epsilon overrides, e.g. day-sentiment=2,hour-messages=0.5 (0 disables a figure)", p.setEpsilon)
	fs.Func("noise-key-file", "file holding the noise key (>= 32 bytes); default: a random key per process", func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read noise key: %w", err)
		}
		p.Key = []byte(strings.TrimSpace(string(b)))
		return nil
	})
}

func (p *Policy) setEpsilon(v string) error {
	ptr := map[string]*float64{}
	for _, fig := range p.Epsilon.Figures() {
		ptr[fig.Name] = fig.Epsilon
	}
	for _, kv := range strings.Split(v, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return fmt.Errorf("epsilon %q: want name=value", kv)
		}
		f, ok := ptr[name]
		if !ok {
			return fmt.Errorf("epsilon %q: unknown figure", name)
		}
		if _, err := fmt.Sscanf(val, "%g", f); err != nil {
			return fmt.Errorf("epsilon %s=%q: %w", name, val, err)
		}
	}
	return nil
}
