// Package event defines the commpulse event contract v1 (topic comms.events)
// and its strict decoder, plus the directory and consent records.
package event

import (
	"errors"
	"flag"
	"fmt"
	"sync"
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
//
// Version 1 is Person, Team and ValidFrom: one team for all time. Version 2
// adds Periods, the person's effective-dated organisation data (an HRIS
// export), so that an event is attributed to the team the person was in
// when it happened. The topic is compacted, so the latest record of a
// person is all that is kept: a v2 record carries the whole timeline, and
// its Team and ValidFrom repeat the latest period for v1 readers, which
// ignore Periods. See docs/importers.md, "Organisation data".
type Directory struct {
	Person    string    `json:"person"`
	Team      string    `json:"team"`
	ValidFrom time.Time `json:"valid_from"`
	// Periods, when present (v2), replace Team for events: the team at an
	// event's time is that of the period holding it, and an event outside
	// every period has no team (privacy.UnknownTeam).
	Periods []DirectoryPeriod `json:"periods,omitempty"`
}

// DirectoryPeriod is one effective-dated row of a person's organisation
// data. Ids in it (Manager) are pseudonymous like Person; the attributes
// are coarse categories, never names.
type DirectoryPeriod struct {
	Team      string    `json:"team"`
	ValidFrom time.Time `json:"valid_from"`
	// ValidTo is exclusive; zero means open-ended.
	ValidTo  time.Time `json:"valid_to,omitzero"`
	Manager  string    `json:"manager,omitempty"`
	Function string    `json:"function,omitempty"`
	Level    string    `json:"level,omitempty"`
	Location string    `json:"location,omitempty"`
	// TimeZone (IANA, e.g. Europe/Berlin) and the working hours in it
	// decide whether the person's messages are after hours. Without a time
	// zone analyze applies the organisation default (its working hours in
	// UTC).
	TimeZone string `json:"time_zone,omitempty"`
	// WorkStartHour and WorkEndHour are local hours, 0 <= start < end <= 24;
	// both zero means DefaultWorkingHours.
	WorkStartHour int `json:"work_start_hour,omitempty"`
	WorkEndHour   int `json:"work_end_hour,omitempty"`
}

// DefaultWorkingHours is the working day (local hours [start, end), Monday
// to Friday) of a period that gives a time zone but no hours, and the
// default of analyze's organisation-wide rule.
var DefaultWorkingHours = [2]int{9, 18}

// Validate checks a directory record as ingest applies it: a person, a
// team, and well-formed periods (a team each, valid_to after valid_from, a
// time zone the runtime knows, working hours inside the day).
func (d *Directory) Validate() error {
	if d.Person == "" || d.Team == "" {
		return errors.New("directory record: person and team are required")
	}
	for i, p := range d.Periods {
		switch {
		case p.Team == "":
			return fmt.Errorf("directory record: period %d: team is required", i+1)
		case !p.ValidTo.IsZero() && !p.ValidTo.After(p.ValidFrom):
			return fmt.Errorf("directory record: period %d: valid_to %s is not after valid_from %s", i+1, p.ValidTo.Format(time.RFC3339), p.ValidFrom.Format(time.RFC3339))
		case p.WorkStartHour < 0 || p.WorkEndHour > 24 || (p.WorkStartHour != 0 || p.WorkEndHour != 0) && p.WorkStartHour >= p.WorkEndHour:
			return fmt.Errorf("directory record: period %d: working hours %d..%d: want 0 <= start < end <= 24", i+1, p.WorkStartHour, p.WorkEndHour)
		}
		if p.TimeZone != "" {
			if _, err := Location(p.TimeZone); err != nil {
				return fmt.Errorf("directory record: period %d: time zone %q: %w", i+1, p.TimeZone, err)
			}
		}
	}
	return nil
}

// Consent is a record of the compacted topic comms.consent (key = person).
type Consent struct {
	Person  string    `json:"person"`
	OptedIn bool      `json:"opted_in"`
	At      time.Time `json:"at"`
}

var locations sync.Map // name -> *time.Location

// Location is time.LoadLocation with a cache: a directory of 30k people
// names a few dozen zones, and loading one reads the zone database.
func Location(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// Hours returns the period's working hours, DefaultWorkingHours when it
// gives none.
func (p DirectoryPeriod) Hours() (start, end int) {
	if p.WorkStartHour == 0 && p.WorkEndHour == 0 {
		return DefaultWorkingHours[0], DefaultWorkingHours[1]
	}
	return p.WorkStartHour, p.WorkEndHour
}

// AfterHours reports whether t is outside the working hours of a period
// with a time zone: a weekend day, or before start or from end, in local
// time. ok is false when the period gives no (known) time zone.
func (p DirectoryPeriod) AfterHours(t time.Time) (after, ok bool) {
	if p.TimeZone == "" {
		return false, false
	}
	loc, err := Location(p.TimeZone)
	if err != nil {
		return false, false
	}
	lt := t.In(loc)
	start, end := p.Hours()
	wd := lt.Weekday()
	return wd == time.Saturday || wd == time.Sunday || lt.Hour() < start || lt.Hour() >= end, true
}
