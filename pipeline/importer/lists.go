package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadConsentCSV reads a list of opted-in addresses: one per line, in the
// first CSV column; empty lines, lines starting with '#' and a header line
// ("address", "email", "e-mail" or "mail") are skipped. Errors name the line,
// never its content.
func ReadConsentCSV(r io.Reader) ([]string, error) {
	var out []string
	err := readCSV(r, func(line int, rec []string) error {
		a := NormalizeAddress(rec[0])
		if a == "" {
			return fmt.Errorf("line %d: the first column is not an e-mail address", line)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

func readCSV(r io.Reader, fn func(line int, rec []string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("line %d: malformed CSV", pe.Line)
			}
			return err
		}
		if len(rec) == 0 || strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if first {
			first = false
			switch strings.ToLower(strings.TrimSpace(rec[0])) {
			case "address", "email", "e-mail", "mail":
				continue
			}
		}
		if err := fn(line, rec); err != nil {
			return err
		}
	}
}
