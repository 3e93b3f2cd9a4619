package synth_test

import (
	"fmt"

	"commpulse/internal/synth"
)

// Generate a small organisation with a planted sentiment drop, and count
// what the pipeline is expected to do with each event.
func Example() {
	scen, err := synth.ParseScenarios("drop:team-2:2026-11-03:1d")
	if err != nil {
		panic(err)
	}
	org, err := synth.New(synth.Config{Seed: 1, Teams: 3, Days: 2, MalformedRate: 0.01, Scenarios: scen})
	if err != nil {
		panic(err)
	}
	kinds := map[synth.Kind]int{}
	for g := range org.Events() {
		kinds[g.Kind]++ // g.Key() and g.Value() are the Kafka record
	}
	fmt.Println(org.Teams(), len(org.Truth().Items), kinds[synth.Valid] > 0, kinds[synth.Malformed] > 0)
	// Output: [team-1 team-2 team-3] 1 true true
}
