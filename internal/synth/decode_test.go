package synth

import (
	"fmt"
	"testing"

	"commpulse/pipeline/event"
)

// TestAgainstContractDecoder runs the generated stream through the
// pipeline's own strict decoder: every event the generator calls valid must
// decode to exactly the generated event, every malformed one must be
// rejected. The mapping of intended to actual reasons is logged.
func TestAgainstContractDecoder(t *testing.T) {
	cfg := Config{Seed: 13, Days: 3, MalformedRate: 0.2, NotOptedInRate: 0.05}
	now := cfg.Defaults().End()
	mapping := map[string]int{}
	for _, g := range collect(t, cfg) {
		ev, err := event.Decode(g.Value(), event.Limits{}, now)
		if g.Kind == Malformed {
			if err == nil {
				t.Fatalf("decoder accepts malformed %s/%s: %s", g.Reason, g.Detail, g.Raw)
			}
			mapping[fmt.Sprintf("%s -> %s", g.Reason, event.ReasonOf(err))]++
			continue
		}
		if err != nil {
			t.Fatalf("decoder rejects %s event: %v: %s", g.Kind, err, g.Value())
		}
		want := g.Event
		if fmt.Sprintf("%#v", ev) != fmt.Sprintf("%#v", want) {
			t.Fatalf("decoded\n %#v\nwant\n %#v", ev, want)
		}
	}
	t.Logf("intended -> decoder reason: %v", mapping)
}
