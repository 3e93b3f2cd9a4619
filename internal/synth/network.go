package synth

import (
	"math/rand/v2"
	"slices"
	"time"

	"commpulse/pipeline/event"
)

// The communication network. Most messages stay inside the team; managers,
// hubs and liaisons carry the cross-team traffic:
//
//   - in-team targets: the manager and two "close" colleagues are each about
//     three times as likely as any other member;
//   - cross-team share: 8% for a regular member, 25% for managers, 30% for
//     liaisons (half of it to their partner), 50% for hubs (to anyone);
//   - cross-team targets: the liaison partner, a hub, or one of a person's
//     fixed external contacts (three people of other teams; for managers
//     also every other manager); hubs write to anyone.
//
// Silo and Isolated scenarios remove edges: a siloed team neither sends nor
// receives across its boundary, an isolated person only writes to their
// manager and receives nothing.

const groupEmailShare = 0.08

// recipients draws the recipients of a message; nil means the sender has
// nobody to write to (e.g. a two-person team whose other member is isolated).
func (o *Org) recipients(r *rand.Rand, sender int, channel string, at time.Time) []int {
	p := &o.people[sender]
	members := o.teams[p.team].members
	if o.isolatedAt(sender, at) {
		if m := members[0]; m != sender {
			return []int{m}
		}
		return nil
	}
	var k int
	switch u := r.Float64(); channel {
	case event.ChannelChat:
		switch {
		case u < 0.72:
			k = 1
		case u < 0.90:
			k = 2
		case u < 0.97:
			k = 3
		default:
			k = 4 + r.IntN(3)
		}
	case event.ChannelEmail:
		switch {
		case u < 0.45:
			k = 1
		case u < 1-groupEmailShare:
			k = 2 + r.IntN(3)
		default:
			return o.groupEmail(sender, at)
		}
	default: // meeting
		k = 2 + r.IntN(5)
	}
	k = min(k, len(o.people)-1)

	siloed := o.siloAt(p.team, at)
	out := make([]int, 0, k)
	for tries := 0; len(out) < k && tries < 6*k; tries++ {
		var c int
		if !siloed && r.Float64() < o.crossShare(p) {
			c = o.crossTarget(r, sender)
			if o.siloAt(o.people[c].team, at) {
				continue
			}
		} else {
			c = o.teamTarget(r, sender)
		}
		if c == sender || slices.Contains(out, c) || o.isolatedAt(c, at) {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// groupEmail addresses the whole team (minus the sender and isolated
// members).
func (o *Org) groupEmail(sender int, at time.Time) []int {
	members := o.teams[o.people[sender].team].members
	out := make([]int, 0, len(members)-1)
	for _, m := range members {
		if m != sender && !o.isolatedAt(m, at) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (o *Org) crossShare(p *person) float64 {
	switch {
	case len(o.teams) == 1:
		return 0
	case p.hub:
		return 0.50
	case p.liaison >= 0:
		return 0.30
	case p.manager:
		return 0.25
	default:
		return 0.08
	}
}

func (o *Org) teamTarget(r *rand.Rand, sender int) int {
	p := &o.people[sender]
	members := o.teams[p.team].members
	switch u := r.Float64(); {
	case u < 0.25 && !p.manager:
		return members[0]
	case u < 0.50 && len(p.close) > 0:
		return p.close[r.IntN(len(p.close))]
	default:
		return members[r.IntN(len(members))]
	}
}

func (o *Org) crossTarget(r *rand.Rand, sender int) int {
	p := &o.people[sender]
	if p.hub {
		return r.IntN(len(o.people))
	}
	if p.liaison >= 0 && r.Float64() < 0.5 {
		return p.liaison
	}
	if len(o.hubs) > 0 && r.Float64() < 0.3 {
		return o.hubs[r.IntN(len(o.hubs))]
	}
	return p.external[r.IntN(len(p.external))]
}

func (o *Org) siloAt(t int, at time.Time) bool {
	for _, sc := range o.scenarios {
		if sc.Kind == Silo && sc.team == t && sc.contains(at) {
			return true
		}
	}
	return false
}

func (o *Org) isolatedAt(i int, at time.Time) bool {
	for _, sc := range o.scenarios {
		if sc.Kind == Isolated && sc.person == i && sc.contains(at) {
			return true
		}
	}
	return false
}
