package synth

import (
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"commpulse/pipeline/event"
)

// Kind says what the pipeline is expected to do with a generated event.
// Exactly one Kind applies; when several reasons hold, the first in this
// order wins (the order in which an ingest stage naturally checks them).
type Kind uint8

const (
	// Valid: a contract-conforming event from an opted-in sender; it must be
	// processed.
	Valid Kind = iota
	// Malformed: Raw breaks the contract (see Reason); it must go to the DLQ.
	Malformed
	// NotOptedIn: a valid event carrying consent=false; it must be dropped.
	NotOptedIn
	// OptedOut: a valid event (consent=true on the wire) whose sender opted
	// out on the consent topic at or before OccurredAt; it must be dropped.
	OptedOut
)

func (k Kind) String() string {
	switch k {
	case Valid:
		return "valid"
	case Malformed:
		return "malformed"
	case NotOptedIn:
		return "not_opted_in"
	case OptedOut:
		return "opted_out"
	default:
		return "unknown"
	}
}

// Generated is one record of the event stream.
type Generated struct {
	Kind Kind
	// Event is the event as generated. For Malformed it is the event the raw
	// bytes were derived from (useful as ground truth, not sent as is).
	Event event.Event
	// Tone is the intended sentiment of Event.Text (neutral when no text).
	Tone Tone
	// Raw holds the bytes to send for Malformed; nil otherwise. Raw usually
	// still carries the message text (a truncated event cut after "text"
	// even a part of it): exactly what a DLQ must redact.
	Raw []byte
	// Reason and Detail say how Raw breaks the contract, e.g.
	// ReasonMissingField / "sender".
	Reason MalformedReason
	Detail string
}

// Key is the Kafka key of the record: the sender's pseudonym, so that a
// person's events stay in order within a partition. Malformed records keep
// the pseudonym as key even when Raw carries a leaked identifier.
func (g Generated) Key() []byte { return []byte(g.Event.Sender) }

// Value is the Kafka value: Raw for Malformed, the encoded event otherwise.
func (g Generated) Value() []byte {
	if g.Kind == Malformed {
		return g.Raw
	}
	return Marshal(g.Event)
}

// draft is an event before ids and kinds are assigned.
type draft struct {
	at         time.Time
	sender     int
	channel    string
	recipients []int
	tone       Tone
	text       string
	thread     string
}

// stream is the mutable state of one pass over the events.
type stream struct {
	o       *Org
	seq     uint64 // events emitted so far
	threads uint64 // threads created so far
	// recent holds the last few thread ids per team, for replies.
	recent [][]string
	// hourWeight[h] is the intraday weight of hour h of a working day.
	hourWeight [24]float64
	// base is the hourly rate of a regular person at weight 1.
	base float64
}

// Events returns the event stream in time order (ties in generation order).
// Every call starts again from the beginning and yields the same sequence.
// The stream ends after Config.Days or Config.Limit events.
func (o *Org) Events() iter.Seq[Generated] {
	return func(yield func(Generated) bool) {
		s := o.newStream()
		limit, n := o.cfg.Limit, 0
		for h := range o.cfg.Days * 24 {
			for _, g := range s.hour(h) {
				if limit > 0 && n >= limit {
					return
				}
				if !yield(g) {
					return
				}
				n++
			}
		}
	}
}

func (o *Org) newStream() *stream {
	s := &stream{o: o, recent: make([][]string, len(o.teams))}
	cfg := o.cfg
	var sum float64
	for h := range 24 {
		w := cfg.OffHoursFactor
		switch {
		case h >= cfg.WorkStartHour && h < cfg.WorkEndHour:
			w = 1
			if h == 12 && cfg.WorkEndHour-cfg.WorkStartHour > 4 {
				w = 0.6 // lunch dip
			}
		case h == cfg.WorkStartHour-1 || h == cfg.WorkEndHour:
			w = max(w, 0.2) // shoulders
		}
		s.hourWeight[h] = w
		sum += w
	}
	s.base = cfg.MessagesPerDay / sum
	return s
}

// hour generates the events of hour h (0-based from Start), time-ordered.
func (s *stream) hour(h int) []Generated {
	o := s.o
	start := o.cfg.Start.Add(time.Duration(h) * time.Hour)
	r := rand.New(rand.NewPCG(uint64(o.cfg.Seed), 0x686f7572_00000000|uint64(h)))
	weight := s.hourWeight[start.Hour()]
	if wd := start.Weekday(); wd == time.Saturday || wd == time.Sunday {
		weight *= o.cfg.WeekendFactor
	}
	var drafts []draft
	for i := range o.people {
		p := &o.people[i]
		lambda := s.base * weight * p.activity * o.volumeFactor(i, start)
		for range poisson(r, lambda) {
			at := start.Add(time.Duration(r.Int64N(int64(time.Hour/time.Millisecond))) * time.Millisecond)
			if d, ok := s.draft(r, i, at); ok {
				drafts = append(drafts, d)
			}
		}
	}
	// Sort indexes rather than the drafts: moving structs full of pointers
	// costs write barriers. Ties keep generation order, so the result is
	// deterministic.
	order := make([]int32, len(drafts))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := drafts[a].at.Compare(drafts[b].at); c != 0 {
			return c
		}
		return int(a - b)
	})
	out := make([]Generated, len(drafts))
	for i, j := range order {
		out[i] = s.finish(r, drafts[j])
	}
	return out
}

// volumeFactor applies VolumeSpike and Isolated scenarios to person i at t.
func (o *Org) volumeFactor(i int, t time.Time) float64 {
	f := 1.0
	for _, sc := range o.scenarios {
		if !sc.contains(t) {
			continue
		}
		switch {
		case sc.Kind == VolumeSpike && sc.team == o.people[i].team:
			f *= SpikeFactor
		case sc.Kind == Isolated && sc.person == i:
			f *= IsolatedFactor
		}
	}
	return f
}

func (s *stream) draft(r *rand.Rand, sender int, at time.Time) (draft, bool) {
	o := s.o
	d := draft{at: at, sender: sender, channel: o.channel(r)}
	d.recipients = o.recipients(r, sender, d.channel, at)
	if len(d.recipients) == 0 {
		return draft{}, false
	}
	d.tone = o.tone(r, o.people[sender].team, at)
	if r.Float64() >= o.cfg.NoTextRate {
		d.text = renderText(r, d.tone, d.channel == event.ChannelMeeting)
	} else {
		d.tone = ToneNeutral
	}
	if d.channel != event.ChannelMeeting {
		d.thread = s.thread(r, o.people[sender].team, d.channel)
	}
	return d, true
}

func (o *Org) channel(r *rand.Rand) string {
	m := o.cfg.ChannelMix
	u := r.Float64() * (m.Chat + m.Email + m.Meeting)
	switch {
	case u < m.Chat:
		return event.ChannelChat
	case u < m.Chat+m.Email:
		return event.ChannelEmail
	default:
		return event.ChannelMeeting
	}
}

// tone draws the sentiment of a message of team t at time at, from the
// team's baseline and the sentiment scenarios active then.
func (o *Org) tone(r *rand.Rand, t int, at time.Time) Tone {
	pos, neg := o.teams[t].pos, o.teams[t].neg
	for _, sc := range o.scenarios {
		if sc.team != t || !sc.contains(at) {
			continue
		}
		switch sc.Kind {
		case SentimentDrop:
			pos, neg = pos*0.4, DropNegativeShare
		case SlowDecline:
			frac := float64(at.Sub(sc.Start)) / float64(sc.End.Sub(sc.Start))
			neg += frac * (DropNegativeShare - neg)
			pos *= 1 - 0.6*frac
		}
	}
	switch u := r.Float64(); {
	case u < neg:
		return ToneNegative
	case u < neg+pos:
		return TonePositive
	default:
		return ToneNeutral
	}
}

// thread returns a reply into one of the team's recent threads or a new one.
func (s *stream) thread(r *rand.Rand, t int, channel string) string {
	reply := 0.55
	if channel == event.ChannelEmail {
		reply = 0.4
	}
	if rec := s.recent[t]; len(rec) > 0 && r.Float64() < reply {
		return rec[r.IntN(len(rec))]
	}
	id := s.o.keys.threadID(s.threads)
	s.threads++
	if len(s.recent[t]) < 4 {
		s.recent[t] = append(s.recent[t], id)
	} else {
		s.recent[t][r.IntN(4)] = id
	}
	return id
}

// poisson draws from Poisson(lambda): Knuth's method for small lambda (the
// usual case here, a few messages per hour), a rounded normal otherwise.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// finish assigns the event id and the Kind, and breaks the event if it is
// drawn as malformed.
func (s *stream) finish(r *rand.Rand, d draft) Generated {
	o := s.o
	p := o.people[d.sender]
	ev := event.Event{
		Schema:     event.SchemaVersion,
		EventID:    o.keys.eventID(s.seq, d.at),
		OccurredAt: d.at,
		Channel:    d.channel,
		Sender:     p.id,
		ThreadID:   d.thread,
		Consent:    true,
		Lang:       "en",
		Text:       d.text,
	}
	s.seq++
	ev.Recipients = make([]string, len(d.recipients))
	for i, rc := range d.recipients {
		ev.Recipients[i] = o.people[rc].id
	}
	g := Generated{Kind: Valid, Event: ev, Tone: d.tone}
	u := r.Float64()
	switch {
	case u < o.cfg.MalformedRate:
		g.Kind = Malformed
		g.Raw, g.Reason, g.Detail = malform(r, ev)
	case u < o.cfg.MalformedRate+o.cfg.NotOptedInRate:
		g.Kind = NotOptedIn
		g.Event.Consent = false
	case o.optedOut(d.sender, d.at):
		g.Kind = OptedOut
	}
	return g
}

func (o *Org) optedOut(i int, at time.Time) bool {
	for _, sc := range o.scenarios {
		if sc.Kind == OptOut && sc.person == i && !at.Before(sc.Start) {
			return true
		}
	}
	return false
}
