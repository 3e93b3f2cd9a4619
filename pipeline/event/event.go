// Package event defines the commpulse event contract v1 (topic comms.events)
// and its strict decoder, plus the directory and consent records.
package event

import (
	"flag"
	"time"
)

// SchemaVersion is the only event schema this build accepts.
const SchemaVersion = 1

// Topics names the three input topics of the pipeline: events, and the
// compacted directory and consent tables.
type Topics struct{ Events, Directory, Consent string }

// DefaultTopics are the topic names of the design, the defaults of every
// producer (generate, the importers) and of ingest.
var DefaultTopics = Topics{Events: "comms.events", Directory: "comms.directory", Consent: "comms.consent"}

// RegisterFlags registers --events-topic, --directory-topic and
// --consent-topic on fs, bound to t's fields with t's values as defaults:
// call it on DefaultTopics.
func (t *Topics) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&t.Events, "events-topic", t.Events, "topic of communication events")
	fs.StringVar(&t.Directory, "directory-topic", t.Directory, "compacted topic person -> team")
	fs.StringVar(&t.Consent, "consent-topic", t.Consent, "compacted topic person -> consent")
}

// Channels accepted in Event.Channel.
const (
	ChannelChat    = "chat"
	ChannelEmail   = "email"
	ChannelMeeting = "meeting"
)

// Event is one communication event, contract v1. Text is optional and is
// never persisted: it is scored in memory and dropped.
type Event struct {
	Schema     int       `json:"schema"`
	EventID    string    `json:"event_id"`
	OccurredAt time.Time `json:"occurred_at"`
	Channel    string    `json:"channel"`
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients,omitempty"`
	ThreadID   string    `json:"thread_id,omitempty"`
	Consent    bool      `json:"consent"`
	Lang       string    `json:"lang,omitempty"`
	Text       string    `json:"text,omitempty"`
}

// Directory is a record of the compacted topic comms.directory (key = person).
// A tombstone (nil value) removes the person.
type Directory struct {
	Person    string    `json:"person"`
	Team      string    `json:"team"`
	ValidFrom time.Time `json:"valid_from"`
}

// Consent is a record of the compacted topic comms.consent (key = person).
type Consent struct {
	Person  string    `json:"person"`
	OptedIn bool      `json:"opted_in"`
	At      time.Time `json:"at"`
}
