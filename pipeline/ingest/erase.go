package ingest

import (
	"context"
	"encoding/json"
	"fmt"

	"commpulse/pipeline/event"
)

// The privacy tables (directory and consent, followed from their compacted
// topics) and the erasures an opt-out triggers.

func (in *Ingest) applyDirectory(key, value []byte) {
	person := string(key)
	if value == nil {
		in.gate.ApplyDirectory(person, nil)
	} else {
		var d event.Directory
		err := json.Unmarshal(value, &d)
		if err == nil {
			err = d.Validate()
		}
		if err != nil {
			in.log.Warn("skipping malformed directory record", "err", err)
			return
		}
		in.gate.ApplyDirectory(d.Person, &d)
	}
	people, _ := in.gate.Sizes()
	in.m.DirectorySize.Set(float64(people))
}

func (in *Ingest) applyConsent(key, value []byte) {
	person := string(key)
	var c *event.Consent
	if value != nil {
		c = new(event.Consent)
		if err := json.Unmarshal(value, c); err != nil || c.Person == "" {
			in.log.Warn("skipping malformed consent record", "err", err)
			return
		}
		person = c.Person
	}
	if in.gate.ApplyConsent(person, c) {
		in.eraseMu.Lock()
		in.erase[person] = struct{}{}
		in.eraseMu.Unlock()
	}
	_, out := in.gate.Sizes()
	in.m.OptedOut.Set(float64(out))
}

// reapplyErasures erases persons who opted out while no ingest was running
// (or before an erasure finished): the consent topic is the truth, the
// erasures table only says what was done.
func (in *Ingest) reapplyErasures(ctx context.Context) error {
	out := in.gate.OptedOutPersons()
	stored := in.cfg.Pseudonymizer.IDs(out)
	done, err := in.sink.Erased(ctx, stored)
	if err != nil {
		return err
	}
	in.eraseMu.Lock()
	for i, p := range out {
		if !done[stored[i]] {
			in.erase[p] = struct{}{}
		}
	}
	in.eraseMu.Unlock()
	return in.runErasures(ctx)
}

// erasePending reports whether an opt-out waits to be erased.
func (in *Ingest) erasePending() bool {
	in.eraseMu.Lock()
	defer in.eraseMu.Unlock()
	return len(in.erase) > 0
}

// runErasures erases everyone pending. It runs on the sink goroutine (or
// before it starts), serialised with inserts; see Gate for why that is safe.
func (in *Ingest) runErasures(ctx context.Context) error {
	in.eraseMu.Lock()
	if len(in.erase) == 0 {
		in.eraseMu.Unlock()
		return nil
	}
	persons := make([]string, 0, len(in.erase))
	for p := range in.erase {
		persons = append(persons, p)
	}
	in.eraseMu.Unlock()
	if err := in.sink.ErasePersons(ctx, in.cfg.Pseudonymizer.IDs(persons)); err != nil {
		return fmt.Errorf("erase %d opted-out persons: %w", len(persons), err)
	}
	in.eraseMu.Lock()
	for _, p := range persons {
		delete(in.erase, p)
	}
	in.eraseMu.Unlock()
	in.m.Erasures.Add(float64(len(persons)))
	in.log.Info("erased opted-out persons", "count", len(persons))
	return nil
}
