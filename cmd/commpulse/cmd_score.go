package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"commpulse/nlp"
)

func init() {
	register(command{
		name:    "score",
		summary: "score messages from stdin (JSON Lines {id,text}, or --plain text lines)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlagSet("score", stderr)
			plain := fs.Bool("plain", false, "read plain text, one message per line (id = line number)")
			explain := fs.Bool("explain", false, "add the tokens that moved each score (quotes the text: do not persist)")
			negTh := fs.Float64("neg-threshold", -0.05, "compound at or below which a message is negative")
			posTh := fs.Float64("pos-threshold", 0.05, "compound at or above which a message is positive")
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if *negTh > *posTh {
				return usageError{fmt.Errorf("--neg-threshold %v is above --pos-threshold %v", *negTh, *posTh)}
			}
			a := nlp.New(nlp.WithThresholds(*negTh, *posTh))
			return scoreStream(ctx, a, os.Stdin, stdout, *plain, *explain)
		},
	})
}

// scoreInput is one JSON Lines input record.
type scoreInput struct {
	ID   json.RawMessage `json:"id"`
	Text *string         `json:"text"`
}

// scoreOutput is one output record. Numbers and label are null when the
// message got no score (status says why: no_text, not_english, no_signal),
// so that "no score" can never be mistaken for "neutral".
type scoreOutput struct {
	ID            json.RawMessage    `json:"id"`
	Compound      *float64           `json:"compound"`
	Pos           *float64           `json:"pos"`
	Neu           *float64           `json:"neu"`
	Neg           *float64           `json:"neg"`
	Label         *string            `json:"label"`
	Status        string             `json:"status"`
	Tokens        int                `json:"tokens"`
	Version       string             `json:"version"`
	Error         string             `json:"error,omitempty"`
	Contributions []nlp.Contribution `json:"contributions,omitempty"`
}

// scoreStream writes exactly one output line per input line, in order. A
// malformed line yields a record with "error" rather than stopping the
// stream, so outputs stay aligned with inputs.
func scoreStream(ctx context.Context, a *nlp.Analyzer, in io.Reader, out io.Writer, plain, explain bool) error {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriterSize(out, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for n := 1; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			w.Flush()
			return ctx.Err()
		}
		line, err := r.ReadString('\n')
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("read stdin line %d: %w", n, err)
		}
		line = strings.TrimRight(line, "\r\n")
		rec := scoreLine(a, line, n, plain, explain)
		if e := enc.Encode(&rec); e != nil {
			return fmt.Errorf("write result %d: %w", n, e)
		}
		if err != nil {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("flush stdout: %w", err)
	}
	return nil
}

func scoreLine(a *nlp.Analyzer, line string, n int, plain, explain bool) scoreOutput {
	rec := scoreOutput{Version: nlp.Version}
	var text string
	if plain {
		rec.ID = json.RawMessage(strconv.Quote(strconv.Itoa(n)))
		text = line
	} else {
		var in scoreInput
		if err := json.Unmarshal([]byte(line), &in); err != nil {
			rec.ID = json.RawMessage("null")
			rec.Status = "error"
			rec.Error = fmt.Sprintf("line %d: not a JSON object: %v", n, err)
			return rec
		}
		rec.ID = in.ID
		if len(rec.ID) == 0 {
			rec.ID = json.RawMessage("null")
		}
		if in.Text != nil {
			text = *in.Text
		}
	}
	var sc nlp.Score
	if explain {
		sc, rec.Contributions = a.Explain(text)
	} else {
		sc = a.Score(text)
	}
	rec.Status = sc.Status.String()
	rec.Tokens = sc.Tokens
	if sc.Status == nlp.Scored {
		label := sc.Label.String()
		rec.Compound, rec.Pos, rec.Neu, rec.Neg, rec.Label = &sc.Compound, &sc.Pos, &sc.Neu, &sc.Neg, &label
	}
	return rec
}
