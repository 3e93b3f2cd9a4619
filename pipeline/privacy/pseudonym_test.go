package privacy

import (
	"strings"
	"testing"
)

func TestPseudonymizer(t *testing.T) {
	if p, err := NewPseudonymizer(nil); p != nil || err != nil {
		t.Fatal("empty key must mean off")
	}
	if _, err := NewPseudonymizer([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
	a, _ := NewPseudonymizer([]byte(strings.Repeat("a", 32)))
	b, _ := NewPseudonymizer([]byte(strings.Repeat("b", 32)))
	id := "p_5f2c9a1e0b7d4c38"
	if first, again := a.ID(id), a.ID(id); first != again || first == b.ID(id) || first == a.ID(id+"x") {
		t.Fatal("ids must be deterministic per key and differ across keys and inputs")
	}
	if got := a.ID(id); !strings.HasPrefix(got, "h_") || len(got) != 34 || strings.Contains(got, id) {
		t.Fatalf("keyed id %q", got)
	}
	var off *Pseudonymizer
	if off.ID(id) != id || off.IDs([]string{id})[0] != id {
		t.Fatal("nil pseudonymizer must keep ids")
	}
}

func TestRandomPseudonymizer(t *testing.T) {
	a, err := NewRandomPseudonymizer()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRandomPseudonymizer()
	if err != nil {
		t.Fatal(err)
	}
	id := "jane.doe@corp.example"
	if first, again := a.ID(id), a.ID(id); first != again || first == b.ID(id) || strings.Contains(first, "jane") {
		t.Fatal("random keys must be stable within one pseudonymizer and differ between two")
	}
}
