package importer

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"commpulse/pipeline/event"
)

// Directory is the organisation data an import writes as directory records
// (comms.directory), read from one CSV file in either of two forms:
//
//   - address,team: one team per person for all time (contract v1 records,
//     valid_from = the file's time). No header, or the header address,team.
//   - an HRIS export: a header naming its columns, one row per person and
//     period (contract v2 records, effective-dated). The columns, in any
//     order and case (aliases in orgColumns): email or employee_id (the
//     person key; with both, email is the key and employee_id lets the
//     manager column refer to either), team, and optionally manager,
//     function, level, location, time_zone (IANA), work_start_hour,
//     work_end_hour, valid_from and valid_to. Any other column (a name, a
//     salary) is ignored: never read into a record, never written.
//
// Dates are 2006-01-02 or RFC 3339. A date-only valid_to is the last day
// of the period (HR systems write it inclusive) and becomes the next
// midnight UTC, exclusive; a missing valid_from means since ever, a missing
// valid_to open-ended.
type Directory struct {
	// People maps a person key (a normalised address, or "employee:" + a
	// lower-cased employee id) to their periods, in file order. Manager
	// holds the manager's person key until DirectoryRecords pseudonymises it.
	People map[string][]event.DirectoryPeriod
	// Dated is true for the HRIS form: records carry periods (v2).
	Dated bool
}

// orgColumns maps each accepted header spelling (lower case, spaces and
// hyphens as underscores: "Work Email" is work_email) to its field.
var orgColumns = map[string]string{
	"email": "email", "e_mail": "email", "mail": "email", "address": "email", "work_email": "email",
	"employee_id": "employee_id", "employeeid": "employee_id", "person_id": "employee_id",
	"team": "team", "department": "team", "org_unit": "team",
	"manager": "manager", "manager_email": "manager", "manager_id": "manager",
	"function": "function", "level": "level", "grade": "level",
	"location": "location", "office": "location",
	"time_zone": "time_zone", "timezone": "time_zone", "tz": "time_zone",
	"work_start_hour": "work_start_hour", "work_end_hour": "work_end_hour",
	"valid_from": "valid_from", "effective_from": "valid_from", "start_date": "valid_from",
	"valid_to": "valid_to", "effective_to": "valid_to", "end_date": "valid_to",
}

// ReadDirectoryCSV reads a directory file in either form (see Directory).
// Errors name the line and column, never a cell's content.
func ReadDirectoryCSV(r io.Reader) (Directory, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	var (
		d    = Directory{People: map[string][]event.DirectoryPeriod{}}
		cols map[string]int // HRIS form: field -> column index
		rows [][]string
		at   []int
	)
	for first := true; ; {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return d, fmt.Errorf("line %d: malformed CSV", pe.Line)
			}
			return d, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 0 || strings.TrimSpace(rec[0]) == "" && len(rec) == 1 {
			continue
		}
		if first {
			first = false
			if c, ok := orgHeader(rec); ok {
				cols = c
				continue
			}
		}
		rows, at = append(rows, rec), append(at, line)
	}
	if cols == nil {
		return d, readTeams(d, rows, at)
	}
	d.Dated = true
	return d, readPeriods(d, cols, rows, at)
}

// orgHeader recognises a header: address,team (the v1 form, returned as
// nil columns) or one naming team and a person key (the HRIS form).
func orgHeader(rec []string) (map[string]int, bool) {
	cols := map[string]int{}
	for i, h := range rec {
		if f, ok := orgColumns[headerKey(h)]; ok {
			if _, dup := cols[f]; !dup {
				cols[f] = i
			}
		}
	}
	_, email := cols["email"]
	_, id := cols["employee_id"]
	if _, team := cols["team"]; !team || !email && !id {
		return nil, false
	}
	if len(rec) == 2 && email && len(cols) == 2 && cols["email"] == 0 {
		return nil, true // address,team: the v1 form with a header
	}
	return cols, true
}

func headerKey(h string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(h)))
}

func readTeams(d Directory, rows [][]string, at []int) error {
	for i, rec := range rows {
		a := NormalizeAddress(rec[0])
		if a == "" || len(rec) < 2 || strings.TrimSpace(rec[1]) == "" {
			return fmt.Errorf("line %d: want address,team (or an HRIS header naming its columns)", at[i])
		}
		d.People[a] = []event.DirectoryPeriod{{Team: strings.TrimSpace(rec[1])}}
	}
	return nil
}

func readPeriods(d Directory, cols map[string]int, rows [][]string, at []int) error {
	cell := func(rec []string, f string) string {
		if i, ok := cols[f]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	// Employee ids resolve to the e-mail key when the file has both, so a
	// manager column may hold either.
	byID := map[string]string{}
	keyOf := func(rec []string) string {
		if a := NormalizeAddress(cell(rec, "email")); a != "" {
			if id := cell(rec, "employee_id"); id != "" {
				byID[employeeKey(id)] = a
			}
			return a
		}
		if id := cell(rec, "employee_id"); id != "" {
			return employeeKey(id)
		}
		return ""
	}
	for i, rec := range rows {
		line := at[i]
		key := keyOf(rec)
		if key == "" {
			return fmt.Errorf("line %d: no person key (email or employee_id)", line)
		}
		p := event.DirectoryPeriod{
			Team: cell(rec, "team"), Manager: cell(rec, "manager"), Function: cell(rec, "function"),
			Level: cell(rec, "level"), Location: cell(rec, "location"), TimeZone: cell(rec, "time_zone"),
		}
		if p.Team == "" {
			return fmt.Errorf("line %d: team is empty", line)
		}
		var err error
		if p.ValidFrom, err = orgTime(cell(rec, "valid_from"), false); err != nil {
			return fmt.Errorf("line %d: valid_from: %w", line, err)
		}
		if p.ValidTo, err = orgTime(cell(rec, "valid_to"), true); err != nil {
			return fmt.Errorf("line %d: valid_to: %w", line, err)
		}
		for f, dst := range map[string]*int{"work_start_hour": &p.WorkStartHour, "work_end_hour": &p.WorkEndHour} {
			if v := cell(rec, f); v != "" {
				if *dst, err = strconv.Atoi(v); err != nil {
					return fmt.Errorf("line %d: %s is not a whole hour", line, f)
				}
			}
		}
		// The contract's own rules (time zone known, hours in the day,
		// valid_to after valid_from), with the line.
		if err := (&event.Directory{Person: "-", Team: p.Team, Periods: []event.DirectoryPeriod{p}}).Validate(); err != nil {
			return fmt.Errorf("line %d: %s", line, strings.TrimPrefix(err.Error(), "directory record: "))
		}
		d.People[key] = append(d.People[key], p)
	}
	for key, ps := range d.People {
		for i := range ps {
			if m := ps[i].Manager; m != "" {
				ps[i].Manager = managerKey(m, byID)
			}
		}
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].ValidFrom.Before(ps[j].ValidFrom) })
		d.People[key] = ps
	}
	return nil
}

func employeeKey(id string) string { return "employee:" + strings.ToLower(strings.TrimSpace(id)) }

// managerKey is the person key a manager cell refers to: an address, or an
// employee id (resolved to that employee's address when the file gives it).
func managerKey(m string, byID map[string]string) string {
	if a := NormalizeAddress(m); a != "" {
		return a
	}
	k := employeeKey(m)
	if a, ok := byID[k]; ok {
		return a
	}
	return k
}

// orgTime parses a date or an RFC 3339 instant; a date-only end is
// inclusive and becomes the next midnight UTC.
func orgTime(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errors.New("want 2006-01-02 or RFC 3339")
	}
	return t.UTC(), nil
}

// personKeyID is the pseudonym of a person key: an address as PersonID
// has it, an employee id as the keyed hash of "employee:" + the id, so the
// importer and a source keyed by employee id agree.
func (b *Base) personKeyID(key string) string {
	if strings.HasPrefix(key, "employee:") {
		return b.cfg.Pseudonymizer.ID(key)
	}
	return b.PersonID(key)
}

// DirectoryRecords returns a directory record per company person of d: v1
// records (team for all time, valid_from = validFrom) for the address,team
// form, v2 records with the pseudonymised periods for an HRIS export.
// Addresses outside the company domains are skipped; employee ids are
// always the company's.
func (b *Base) DirectoryRecords(d Directory, validFrom time.Time) []Record {
	keys := make([]string, 0, len(d.People))
	for k := range d.People {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Record
	for _, k := range keys {
		if !strings.HasPrefix(k, "employee:") && !b.Internal(k) {
			continue
		}
		p := b.personKeyID(k)
		ps := d.People[k]
		rec := event.Directory{Person: p, Team: ps[len(ps)-1].Team, ValidFrom: validFrom}
		if d.Dated {
			rec.Periods = make([]event.DirectoryPeriod, len(ps))
			for i, per := range ps {
				if per.Manager != "" {
					per.Manager = b.personKeyID(per.Manager)
				}
				rec.Periods[i] = per
			}
			rec.ValidFrom = ps[len(ps)-1].ValidFrom
		}
		out = append(out, Record{Topic: b.cfg.Topics.Directory, Key: []byte(p), Value: mustJSON(rec)})
	}
	return out
}

// mustJSON encodes a directory record; it cannot fail (strings, times and
// ints only).
func mustJSON(d event.Directory) []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("encode directory record: %v", err))
	}
	return b
}
