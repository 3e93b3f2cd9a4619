package synth

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Tone is the intended sentiment of a generated text. The scorer decides
// the real label; Tone is what the generator aimed for.
type Tone int8

const (
	ToneNegative Tone = -1
	ToneNeutral  Tone = 0
	TonePositive Tone = 1
)

func (t Tone) String() string {
	switch t {
	case ToneNegative:
		return "negative"
	case TonePositive:
		return "positive"
	default:
		return "neutral"
	}
}

// Templates are workplace English with slots filled from small vocabularies
// plus numbers, so that texts vary and are unique-ish. By construction they
// never contain person ids, names or e-mail addresses: the privacy tests
// search storage for generated texts, and a text that carried an id would
// make those searches ambiguous.
//
// Slots: {proj} project, {area} part of the system, {n} number, {time} clock
// time, {day} weekday, {group} a group of colleagues, {emoji} a chat emoji.
var templates = map[Tone][]string{
	TonePositive: {
		"Great job on the {proj} release, thanks all!",
		"Kudos to {group} for unblocking the deploy {emoji}",
		"Thanks for the quick review on PR {n}, really appreciated",
		"Awesome work on the {area}, the latency is down {n}%!",
		"Love the new {proj} dashboard, super helpful",
		"Nice, the {area} fix works perfectly. Thank you!",
		"Happy to report the {proj} migration went smoothly {emoji}",
		"Big thanks to {group} for the help yesterday, great teamwork",
		"Excellent demo today, the customers loved {proj}",
		"Well done everyone, we shipped {proj} on time {emoji}",
		"The {area} tests are green again, good job!",
		"Really enjoyed the retro on {day}, great ideas from {group}",
		"Glad we fixed ticket {ticket}, nice work",
		"This is a fantastic improvement to the {area}, thanks!",
		"Congrats on closing {n} tickets this sprint, amazing effort",
		"Thank you for covering on-call on {day}, much appreciated",
		"Brilliant write-up on the {proj} design, very clear",
		"So happy with how the {proj} launch went, proud of this team",
	},
	ToneNeutral: {
		"Can you review PR {n} before standup?",
		"Meeting moved to {time}",
		"Pushed the changes for ticket {ticket}, please take a look",
		"Who owns the {area} config for {proj}?",
		"Reminder: sprint planning on {day} at {time}",
		"I'll be out on {day}, {group} will cover",
		"Updated the {proj} doc with the new timeline",
		"Is the {area} deploy scheduled for {day}?",
		"Notes from the {proj} sync are in the doc",
		"Please add your estimates to ticket {ticket}",
		"Moving the {proj} sync to {time} on {day}",
		"Heads-up: the {area} staging environment restarts at {time}",
		"Can we discuss ticket {ticket} in the {time} call?",
		"Draft agenda for {day} is in the {proj} folder",
		"Which branch should I use for the {area} hotfix?",
		"Let's pair on the {area} after lunch",
		"Status update: {proj} is at {n}% of the planned scope",
		"Adding {group} to the thread for the {area} question",
	},
	ToneNegative: {
		"The build is broken again and I'm blocked",
		"Another outage in the {area}, this overtime is burning me out",
		"Frustrated that {proj} slipped again, this is a mess",
		"The {area} pipeline failed {n} times today, terrible",
		"I'm exhausted, third late night in a row on {proj}",
		"This deadline is unrealistic and nobody listens, really frustrating",
		"Sorry, ticket {ticket} is still broken and the customer is angry",
		"Ugh, the {area} is down again. Really annoying",
		"We keep getting blamed for {proj} problems, not fair",
		"I'm worried about {proj}, the quality is bad and getting worse",
		"Sick of the constant firefighting on the {area}",
		"The {day} release was a disaster, lots of angry users",
		"Stressful week, the {area} crashed {n} times and we lost data",
		"Really disappointed with how the {proj} review went",
		"No one answered about ticket {ticket}, I'm stuck and annoyed",
		"Hate to say it but the {proj} plan is failing",
		"Awful on-call night, the {area} alerts never stopped and I'm exhausted",
		"Too many meetings, I can't get anything done, so frustrating",
	},
}

var (
	slotProj  = []string{"Atlas", "Beacon", "Comet", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Lumen", "billing", "onboarding", "search", "mobile app"}
	slotArea  = []string{"API", "checkout service", "data pipeline", "login flow", "payments job", "CI runners", "cache layer", "reporting service", "mobile build", "search index"}
	slotGroup = []string{"the platform crew", "QA", "the on-call folks", "the design team", "the helpdesk", "the data team", "infra", "the new hires", "everyone on the rota"}
	slotDay   = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}
	slotTime  = []string{"9:30", "10am", "11:15", "noon", "1pm", "2:30", "3pm", "4pm", "4:45"}
	slotEmoji = []string{":tada:", ":rocket:", ":clap:", ":raised_hands:", ":100:", ":sparkles:"}
	slotTkt   = []string{"OPS", "WEB", "DATA", "PAY", "INFRA", "APP"}

	// Greetings and sign-offs add variety without changing the tone much.
	prefixes = []string{"", "", "", "", "Hey team, ", "Heads-up: ", "Quick one: ", "Hi all, ", "Update: "}
	suffixes = []string{"", "", " (see thread)", " More soon.", " Details in the doc.", " (re {proj})", " [{ticket}]", " cc {group}", " ({day} {time})", " #{n}"}

	// Meeting events carry titles rather than chat lines.
	meetingTitles = map[Tone][]string{
		TonePositive: {"Celebrating the great {proj} launch", "Team lunch to celebrate {proj}", "Kudos session: great sprint"},
		ToneNeutral:  {"{proj} weekly sync", "Sprint planning", "1:1", "{area} design review", "Retro", "Backlog grooming for {proj}"},
		ToneNegative: {"Incident review: {area} outage", "Escalation: {proj} is failing", "Postmortem: broken {area} release"},
	}
)

// renderText fills a template of the given tone with random slot values.
func renderText(r *rand.Rand, tone Tone, meeting bool) string {
	var b strings.Builder
	if meeting {
		fill(&b, r, pick(r, meetingTitles[tone]))
		return b.String()
	}
	prefix, suffix := pick(r, prefixes), pick(r, suffixes)
	tmpl := pick(r, templates[tone])
	if prefix != "" && len(tmpl) > 1 && isLower(tmpl[1]) {
		// "Hi all, can you ..." but "Hi all, PR ..." and "FYI: I'll ...".
		tmpl = strings.ToLower(tmpl[:1]) + tmpl[1:]
	}
	b.WriteString(prefix)
	fill(&b, r, tmpl)
	if suffix != "" {
		if s := b.String(); !strings.ContainsAny(s[len(s)-1:], ".!?:)") {
			b.WriteByte('.')
		}
		fill(&b, r, suffix)
	}
	return b.String()
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

func fill(b *strings.Builder, r *rand.Rand, tmpl string) {
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return
		}
		b.WriteString(tmpl[:i])
		switch tmpl[i+1 : i+j] {
		case "proj":
			b.WriteString(pick(r, slotProj))
		case "area":
			b.WriteString(pick(r, slotArea))
		case "group":
			b.WriteString(pick(r, slotGroup))
		case "day":
			b.WriteString(pick(r, slotDay))
		case "time":
			b.WriteString(pick(r, slotTime))
		case "emoji":
			b.WriteString(pick(r, slotEmoji))
		case "n":
			b.WriteString(strconv.Itoa(2 + r.IntN(998)))
		case "ticket":
			b.WriteString(pick(r, slotTkt))
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(100 + r.IntN(9900)))
		default:
			b.WriteString(tmpl[i : i+j+1])
		}
		tmpl = tmpl[i+j+1:]
	}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
