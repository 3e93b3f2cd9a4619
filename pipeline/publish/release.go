package publish

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"commpulse/nlp"
)

// Grid is the resolution a real-valued figure (a weighted count, a sum of
// compound scores) is snapped to before integer noise is added.
const Grid = 0.01

// Publisher applies a Policy. It is safe for concurrent use (it holds no
// mutable state once built).
type Publisher struct {
	p   Policy
	key []byte
}

// New returns a Publisher for p, or the first invalid field of p.
func New(p Policy) (*Publisher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	key := p.Key
	if key == nil {
		key = randomKey()
	}
	p.Epsilon, p.EpsilonScale = p.budget(), 0 // the budgets in force, once
	return &Publisher{p: p, key: key}, nil
}

// Policy returns the policy in force.
func (pub *Publisher) Policy() Policy { return pub.p }

// Digest returns a keyed digest of parts: HMAC-SHA256 under the noise
// key (domain-separated from the noise stream), hex. The analyzer stores
// it for a release's exact inputs, to tell a retry on the same inputs
// (which may reuse the release's generation: the same figures bit for
// bit) from one on changed inputs. Keyed, it confirms no guess of the
// exact inputs to anyone without the key; an unkeyed hash would.
func (pub *Publisher) Digest(parts ...string) string {
	m := hmac.New(sha256.New, pub.key)
	m.Write([]byte("commpulse release inputs\x00"))
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// noisy releases value (sensitivity sens, loss eps) under the figure
// context ctx. ok is false when eps is 0: the figure is not published.
func (pub *Publisher) noisy(ctx string, value, sens, eps float64) (float64, bool) {
	if eps <= 0 {
		return math.NaN(), false
	}
	snapped := math.Round(value / Grid)
	var vb [8]byte
	binary.BigEndian.PutUint64(vb[:], math.Float64bits(snapped))
	r := newStream(pub.key, append([]byte(ctx+"\x00"), vb[:]...))
	// Snapping can move two neighbouring values apart by one grid unit
	// more than their difference: the noise is calibrated to that.
	t, s := scaleRatio((sens + Grid) / Grid / eps)
	return (snapped + float64(discreteLaplace(r, t, s))) * Grid, true
}

// NoiseSD is the standard deviation of the noise of a figure of
// sensitivity sens released at loss eps (0 when not published): what a
// detector adds to the sampling variance of a published figure.
func NoiseSD(sens, eps float64) float64 {
	if eps <= 0 {
		return 0
	}
	return math.Sqrt(laplaceVariance((sens+Grid)/Grid/eps)) * Grid
}

// cellCtx names one figure of one release: the figure, the window, its
// length in days (0 for an hour), the release generation of the window
// (0 for its first release, n for its n-th re-release) and the team. The
// generation makes every re-release of a window draw fresh noise, whether
// or not its data changed: with the noise a function of the exact value
// alone, a re-run after an erasure would republish bit for bit every
// figure the erased person was not part of, and so tell exactly which ones
// they were. Each generation is a release that costs its ε
// (team_stats.epsilon records the total).
func cellCtx(figure string, window time.Time, days int, gen uint32, team string) string {
	return fmt.Sprintf("%s|%d|%d|%d|%s", figure, window.Unix(), days, gen, team)
}

// DayCell is the exact, contribution-bounded input of one team-day: what
// the SQL computes and nothing else sees. Weighted counts are sums over
// senders of min(1, Cap/n) times the sender's count.
type DayCell struct {
	Window      time.Time
	Gen         uint32 // release generation of the window (see cellCtx)
	Team        string
	Senders     int     // distinct senders (exact)
	Messages    float64 // bounded by CapVolume per sender
	AfterHours  float64 // bounded by CapVolume per sender
	Scored      float64 // bounded by CapSentiment per sender
	SumCompound float64 // bounded by CapSentiment per sender
	Negative    float64 // bounded by CapSentiment per sender
	Positive    float64 // bounded by CapSentiment per sender
	// Themes holds, by theme bit (Themes[i] is nlp.ThemeNames()[i]), the
	// messages carrying the theme, each sender's weighted at their theme
	// weight min(1, CapThemes/n), n their messages of the day over all
	// teams (the n of the volume weight), so one person moves each count
	// by at most CapThemes. Missing entries count 0.
	Themes []float64
}

// DayRelease is what is published of a team-day. Shares and the mean are
// ratios of noisy parts (post-processing); NaN when not published or when
// the noisy denominator is not positive.
type DayRelease struct {
	Window          time.Time
	Team            string
	Senders         float64 // noisy distinct senders, rounded
	Messages        float64
	Scored          float64
	MeanCompound    float64
	NegativeShare   float64
	PositiveShare   float64
	AfterHoursShare float64
}

// Day releases a team-day, or ok=false when it had fewer than K senders
// (nothing at all is published about it then).
func (pub *Publisher) Day(c DayCell) (DayRelease, bool) {
	if c.Senders < pub.p.K {
		return DayRelease{}, false
	}
	e, cv, cs := pub.p.Epsilon, pub.p.CapVolume, pub.p.CapSentiment
	at := func(fig string) string { return cellCtx(fig, c.Window, 1, c.Gen, c.Team) }
	r := DayRelease{Window: c.Window, Team: c.Team}
	// A person whose team changes during the day counts as a sender of
	// both teams: the sender counts' sensitivity is 2.
	senders, _ := pub.noisy(at("senders"), float64(c.Senders), 2, e.DaySenders)
	r.Senders = atLeastK(senders, pub.p.K)
	r.Messages, _ = pub.noisy(at("messages"), c.Messages, cv, e.DayMessages)
	r.Messages = math.Max(0, r.Messages)
	after, _ := pub.noisy(at("after_hours"), c.AfterHours, cv, e.DayAfterHours)
	r.AfterHoursShare = share(after, r.Messages)
	r.Scored, _ = pub.noisy(at("scored"), c.Scored, cs, e.DayScored)
	r.Scored = math.Max(0, r.Scored)
	sum, _ := pub.noisy(at("sum_compound"), c.SumCompound, cs, e.DaySentiment)
	neg, _ := pub.noisy(at("negative"), c.Negative, cs, e.DayNegative)
	pos, _ := pub.noisy(at("positive"), c.Positive, cs, e.DayPositive)
	r.MeanCompound = math.NaN()
	if r.Scored >= 1 && !math.IsNaN(sum) {
		r.MeanCompound = math.Max(-1, math.Min(1, sum/r.Scored))
	}
	r.NegativeShare, r.PositiveShare = share(neg, r.Scored), share(pos, r.Scored)
	return r, true
}

// ThemeRelease is one published theme count of a team-day: the noisy,
// contribution-bounded number of its messages about Theme (a name of
// nlp.ThemeNames), at least Policy.MinThemeMessages.
type ThemeRelease struct {
	Window   time.Time
	Team     string
	Theme    string
	Messages float64
}

// Themes releases the theme counts of a team-day. Below K senders nothing
// (the gate of Day on the same cell: a team-day without a team_stats row
// has no theme either). Above it every theme of nlp.ThemeNames is released,
// zeros included, and a theme is kept only when its noisy count is at least
// MinThemeMessages: the floor applies to the noisy value, so it is
// post-processing and whether a row exists tells no more than its value
// would. Releasing only the themes someone used, or flooring the exact
// count, would let one person's messages switch a row on. Nil when
// day-themes is 0.
func (pub *Publisher) Themes(c DayCell) []ThemeRelease {
	if c.Senders < pub.p.K {
		return nil
	}
	var out []ThemeRelease
	for i, name := range nlp.ThemeNames() {
		var exact float64
		if i < len(c.Themes) {
			exact = c.Themes[i]
		}
		v, ok := pub.noisy(cellCtx("theme:"+name, c.Window, 1, c.Gen, c.Team), exact, pub.p.CapThemes, pub.p.Epsilon.DayThemes)
		if !ok || v < pub.p.MinThemeMessages {
			continue
		}
		out = append(out, ThemeRelease{Window: c.Window, Team: c.Team, Theme: name, Messages: v})
	}
	return out
}

// ThemeNoise is the standard deviation of the noise on each published
// theme count.
func (pub *Publisher) ThemeNoise() float64 {
	return NoiseSD(pub.p.CapThemes, pub.p.Epsilon.DayThemes)
}

// atLeastK rounds a noisy count of senders and floors it at k: a row is
// published only at k or more, so the floor tells nothing new. An
// unpublished count (ε 0) reads k.
func atLeastK(v float64, k int) float64 {
	if math.IsNaN(v) {
		return float64(k)
	}
	return math.Max(float64(k), math.Round(v))
}

// share is num/den clamped to [0, 1]; NaN when either is unpublished or
// the denominator is below one message.
func share(num, den float64) float64 {
	if math.IsNaN(num) || math.IsNaN(den) || den < 1 {
		return math.NaN()
	}
	return math.Max(0, math.Min(1, num/den))
}

// DayNoise is the standard deviation of the noise on a day's published
// parts (messages, scored, and the numerators of the shares and the mean):
// detectors add it to the sampling variance they judge a day against.
type DayNoise struct {
	Messages, Scored, Sum, Negative float64
}

// DayNoise returns the noise levels of Day's figures.
func (pub *Publisher) DayNoise() DayNoise {
	e := pub.p.Epsilon
	return DayNoise{
		Messages: NoiseSD(pub.p.CapVolume, e.DayMessages),
		Scored:   NoiseSD(pub.p.CapSentiment, e.DayScored),
		Sum:      NoiseSD(pub.p.CapSentiment, e.DaySentiment),
		Negative: NoiseSD(pub.p.CapSentiment, e.DayNegative),
	}
}

// HourNoise returns the noise levels of Hour's figure (the volume only).
func (pub *Publisher) HourNoise() DayNoise {
	return DayNoise{Messages: NoiseSD(pub.p.CapVolume, pub.p.Epsilon.HourMessages)}
}

// HourCell is the exact input of one team-hour: its senders and its
// message count weighted by the senders' per-day bound.
type HourCell struct {
	Window   time.Time
	Gen      uint32
	Team     string
	Senders  int
	Messages float64
}

// Hour releases the message volume of a team-hour, or ok=false below K
// senders or when hourly figures are disabled. Sentiment is not published
// per hour: its noise at a useful budget would drown it, and an hour of one
// team is the cell the differencing attacks start from.
func (pub *Publisher) Hour(c HourCell) (float64, bool) {
	if c.Senders < pub.p.K {
		return 0, false
	}
	v, ok := pub.noisy(cellCtx("messages", c.Window, 0, c.Gen, c.Team), c.Messages, pub.p.CapVolume, pub.p.Epsilon.HourMessages)
	return math.Max(0, v), ok
}

// NetCell is the exact, bounded input of one team's network in a window
// of Days days: its distinct senders, the outgoing weight its senders sent
// to members and to non-members (each sender's total bounded by
// CapVolume), and how many of its members were isolated.
type NetCell struct {
	Window   time.Time
	Days     int
	Gen      uint32
	Team     string
	Senders  int
	Internal float64
	External float64
	Isolated int
}

// NetRelease is what is published of a team's network.
type NetRelease struct {
	Window        time.Time
	Days          int
	Team          string
	Senders       float64
	Weight        float64 // noisy internal + external weight (the trials of ExternalShare)
	ExternalShare float64
	EIIndex       float64 // weighted: (E - I) / (E + I) = 2 ExternalShare - 1
	Isolated      *int    // nil: fewer than MinPeople (or not published)
}

// Net releases a team's network figures, or ok=false below K senders.
func (pub *Publisher) Net(c NetCell) (NetRelease, bool) {
	if c.Senders < pub.p.K {
		return NetRelease{}, false
	}
	e := pub.netBudget(c.Days)
	at := func(fig string) string { return cellCtx(fig, c.Window, c.Days, c.Gen, c.Team) }
	r := NetRelease{Window: c.Window, Days: c.Days, Team: c.Team}
	s, _ := pub.noisy(at("net_senders"), float64(c.Senders), 2, e.NetSenders)
	r.Senders = atLeastK(s, pub.p.K)
	// One budget for the pair: a sender's internal plus external weight is
	// at most CapVolume, so the L1 sensitivity of (internal, external) is
	// CapVolume and each coordinate takes the full budget.
	in, _ := pub.noisy(at("internal_weight"), c.Internal, pub.p.CapVolume, e.NetWeight)
	ex, _ := pub.noisy(at("external_weight"), c.External, pub.p.CapVolume, e.NetWeight)
	in, ex = math.Max(0, in), math.Max(0, ex)
	r.Weight = in + ex
	r.ExternalShare, r.EIIndex = math.NaN(), math.NaN()
	if r.Weight >= 1 {
		r.ExternalShare = ex / r.Weight
		r.EIIndex = 2*r.ExternalShare - 1
	}
	r.Isolated = pub.People(at("isolated"), c.Isolated, e.NetPeople)
	return r, true
}

// netBudget is the budget of a network release of a window of days: a
// day window takes the Net* budgets; a rolling window (days > 1; a
// person's weight is bounded over the whole window) takes them divided by
// RollingReleases, so the rolling windows a person-day falls into cost
// together what its day window costs.
func (pub *Publisher) netBudget(days int) Budget {
	e := pub.p.Epsilon
	if days > 1 {
		f := float64(pub.p.RollingReleases)
		e.NetSenders, e.NetWeight, e.NetPeople, e.GraphNodes = e.NetSenders/f, e.NetWeight/f, e.NetPeople/f, e.GraphNodes/f
	}
	return e
}

// NetEpsilon is the privacy loss of one team's network release of a
// window of days (what team_network.epsilon records).
func (pub *Publisher) NetEpsilon(days int) float64 {
	e := pub.netBudget(days)
	return e.NetSenders + e.NetWeight + e.NetPeople
}

// NetNoise is the standard deviation of the noise on each of a team's
// published day-network weights.
func (pub *Publisher) NetNoise() float64 {
	return NoiseSD(pub.p.CapVolume, pub.p.Epsilon.NetWeight)
}

// People releases a count of people under ctx: noisy (sensitivity 1,
// loss eps), rounded, and nil when the noisy count is below MinPeople, so
// no published count can be read as "this one person". Callers release
// every k-safe team, zeros included: releasing only non-zero counts would
// itself tell.
func (pub *Publisher) People(ctx string, n int, eps float64) *int {
	v, ok := pub.noisy(ctx, float64(n), 1, eps)
	if !ok || math.Round(v) < float64(pub.p.MinPeople) {
		return nil
	}
	c := int(math.Round(v))
	return &c
}

// PeopleNoiseFloor returns the smallest count c >= MinPeople that a count
// of people released at loss eps (People) reaches, for a true count of
// zero, with probability at most alpha: above it a published count says
// more than the noise can make of nobody. The noise is discrete Laplace in
// Grid units of scale b = (1+Grid)/Grid/eps, so P(noise >= m) = q^m/(1+q)
// with q = exp(-1/b), and a released count rounds to c or more when the
// noise reaches (c-0.5)/Grid units. It returns 0 when eps is not positive
// (nothing is published) or alpha is not in (0, 1).
func (pub *Publisher) PeopleNoiseFloor(eps, alpha float64) int {
	if eps <= 0 || !(alpha > 0 && alpha < 1) {
		return 0
	}
	q := math.Exp(-eps * Grid / (1 + Grid))
	for c := pub.p.MinPeople; ; c++ {
		m := math.Ceil((float64(c)-0.5)/Grid - 1e-9)
		if math.Pow(q, m)/(1+q) <= alpha {
			return c
		}
	}
}

// NewlyIsolatedFloor is PeopleNoiseFloor at the budget of NewlyIsolated.
func (pub *Publisher) NewlyIsolatedFloor(alpha float64) int {
	return pub.PeopleNoiseFloor(pub.p.Epsilon.DayIsolated, alpha)
}

// NewlyIsolated releases the number of a team's members newly isolated on
// a day (the isolation rule's count), or nil below MinPeople.
func (pub *Publisher) NewlyIsolated(day time.Time, gen uint32, team string, n int) *int {
	return pub.People(cellCtx("newly_isolated", day, 1, gen, team), n, pub.p.Epsilon.DayIsolated)
}

// Nodes releases the organisation's active people of a network window.
func (pub *Publisher) Nodes(window time.Time, days int, gen uint32, n int) (float64, bool) {
	v, ok := pub.noisy(cellCtx("graph_nodes", window, days, gen, ""), float64(n), 1, pub.netBudget(days).GraphNodes)
	return math.Max(0, math.Round(v)), ok
}
