package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "person", summary: "data-subject requests: 'person export --person ID' prints every stored row about one person", run: runPerson})
}

// personExportLine is one JSON Lines record of `person export`: a stored
// row (as ClickHouse's JSONEachRow renders it) and where it was found.
type personExportLine struct {
	Table  string          `json:"table"`
	Column string          `json:"column"` // the person column that matched
	Person string          `json:"person"` // the id as stored (keyed when ingest re-keys ids)
	Row    json.RawMessage `json:"row"`
}

func runPerson(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stderr, "usage: commpulse person export --person ID [flags]")
			return nil
		}
		return usageError{errors.New("usage: commpulse person export --person ID [flags]")}
	}
	fs := newFlagSet("person export", stderr)
	ch := store.DefaultFlags()
	ch.RegisterFlags(fs)
	var person, keyFile string
	fs.StringVar(&person, "person", "", "the person's id as the producer sends it (with --pseudonym-key-file), or as stored")
	fs.StringVar(&keyFile, "pseudonym-key-file", "", "ingest's re-keying key: --person is mapped with it to the stored id")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if person == "" {
		return usageError{errors.New("--person is required")}
	}
	ps, err := loadPseudonymizer(keyFile)
	if err != nil {
		return err
	}
	cfg, err := chConfig(&ch)
	if err != nil {
		return err
	}
	st, err := store.Open(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := exportPerson(ctx, st, ps.ID(person), stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d rows\n", n)
	return nil
}

// loadPseudonymizer reads ingest's re-keying key (none: ids unchanged).
func loadPseudonymizer(keyFile string) (*privacy.Pseudonymizer, error) {
	if keyFile == "" {
		return nil, nil
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, usageError{fmt.Errorf("pseudonym-key-file: %w", err)}
	}
	ps, err := privacy.NewPseudonymizer(key)
	if err != nil {
		return nil, usageError{err}
	}
	return ps, nil
}

// exportPerson writes, as JSON Lines, every stored row that names id
// (store.ExportPerson: every column of store.PersonTables, messages as
// sender and as recipient, edges both ways, node_metrics, erasures). It
// returns the number of rows.
func exportPerson(ctx context.Context, st *store.Store, id string, w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	return st.ExportPerson(ctx, id, func(pc store.PersonColumn, row json.RawMessage) error {
		if err := enc.Encode(personExportLine{Table: pc.Table, Column: pc.Column, Person: id, Row: row}); err != nil {
			return fmt.Errorf("export: write: %w", err)
		}
		return nil
	})
}
