package main

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"commpulse/nlp"
)

func TestScoreStream(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		plain   bool
		explain bool
		want    []string // status of each output line, in order
	}{
		{"jsonl", `{"id":"a","text":"Great job, thanks!"}` + "\n" + `{"id":"b","text":"this is broken"}` + "\n" + `{"id":"c","text":"Das ist nicht gut, aber ich bin müde"}` + "\n", false, false, []string{"scored", "scored", "not_english"}},
		{"bad line keeps alignment", "{\"id\":1,\"text\":\"ok then\"}\nnot json\n{\"id\":3}\n", false, false, []string{"scored", "error", "no_text"}},
		{"plain without final newline", "LGTM :+1:\n\nlunch?", true, true, []string{"scored", "no_text", "no_signal"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := scoreStream(context.Background(), nlp.New(), strings.NewReader(tc.in), &out, tc.plain, tc.explain); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(strings.NewReader(out.String()))
			var got []string
			for sc.Scan() {
				var rec map[string]any
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatalf("output is not JSON: %q", sc.Text())
				}
				for _, k := range []string{"id", "compound", "pos", "neu", "neg", "label"} {
					if _, ok := rec[k]; !ok {
						t.Errorf("output lacks %q: %s", k, sc.Text())
					}
				}
				if rec["status"] == "scored" {
					if c, ok := rec["compound"].(float64); !ok || c < -1 || c > 1 {
						t.Errorf("bad compound in %s", sc.Text())
					}
					if _, ok := rec["contributions"]; tc.explain && !ok {
						t.Errorf("--explain without contributions: %s", sc.Text())
					}
				} else if rec["compound"] != nil {
					t.Errorf("unscored line has a compound: %s", sc.Text())
				}
				got = append(got, rec["status"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("statuses %v, want %v", got, tc.want)
			}
		})
	}
}
