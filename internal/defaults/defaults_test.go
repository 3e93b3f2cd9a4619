package defaults

import (
	"testing"
	"time"
)

func TestFill(t *testing.T) {
	for _, tc := range []struct {
		name      string
		set, want time.Duration
	}{
		{"zero takes the default", 0, time.Second},
		{"a set value stays", 3 * time.Second, 3 * time.Second},
		{"a negative value is set, not zero", -time.Second, -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.set
			Fill(&v, time.Second)
			if v != tc.want {
				t.Errorf("Fill(%v, 1s) = %v, want %v", tc.set, v, tc.want)
			}
		})
	}
}
