package analyze

import (
	"testing"
	"time"
)

func TestPending(t *testing.T) {
	mon := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		g        Granularity
		lateness time.Duration
		next     time.Time
		now      time.Time
		want     int
	}{
		{"hour not closed before lateness", Hour, 10 * time.Minute, mon, mon.Add(69 * time.Minute), 0},
		{"hour closed at end+lateness", Hour, 10 * time.Minute, mon, mon.Add(70 * time.Minute), 1},
		{"a day of hours", Hour, 10 * time.Minute, mon, mon.Add(24*time.Hour + 10*time.Minute), 24},
		{"next mid-window rounds down", Hour, 10 * time.Minute, mon.Add(30 * time.Minute), mon.Add(70 * time.Minute), 1},
		{"day waits for lateness", Day, time.Hour, mon, mon.Add(24*time.Hour + 59*time.Minute), 0},
		{"day closed", Day, time.Hour, mon, mon.Add(25 * time.Hour), 1},
		{"catch-up after a week", Day, time.Hour, mon, mon.AddDate(0, 0, 7).Add(time.Hour), 7},
		{"nothing when next is ahead", Day, time.Hour, mon.AddDate(0, 0, 3), mon.Add(25 * time.Hour), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Pending(tc.g, tc.lateness, tc.next, tc.now)
			if len(got) != tc.want {
				t.Fatalf("%d windows %v, want %d", len(got), got, tc.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Sub(got[i-1]) != tc.g.Step() {
					t.Fatalf("windows not consecutive: %v", got)
				}
			}
		})
	}
}

func TestAfterHours(t *testing.T) {
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"2026-11-02T08:59:59Z", true},  // Monday before 9
		{"2026-11-02T09:00:00Z", false}, // Monday 9:00
		{"2026-11-02T17:59:59Z", false},
		{"2026-11-02T18:00:00Z", true},
		{"2026-11-07T12:00:00Z", true}, // Saturday
		{"2026-11-08T10:00:00Z", true}, // Sunday
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := afterHours(at, 9, 18); got != tc.want {
			t.Errorf("afterHours(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestSeverity(t *testing.T) {
	for _, tc := range []struct {
		score float64
		want  Severity
	}{{0.34, Info}, {0.4999, Info}, {0.5, Warning}, {0.79, Warning}, {0.8, Critical}, {1, Critical}} {
		if got := SeverityOf(tc.score); got != tc.want {
			t.Errorf("SeverityOf(%v) = %s, want %s", tc.score, got, tc.want)
		}
	}
}

func TestIsolationRule(t *testing.T) {
	r := DefaultIsolationRule()
	for _, tc := range []struct {
		name string
		h    PersonHistory
		want bool
	}{
		{"connected before, isolated now", PersonHistory{ActiveDays: 10, IsolatedDays: 0, IsolatedToday: true, WorkingDayNow: true}, true},
		{"a quarter isolated before", PersonHistory{ActiveDays: 8, IsolatedDays: 2, IsolatedToday: true, WorkingDayNow: true}, true},
		{"always isolated (broadcaster)", PersonHistory{ActiveDays: 10, IsolatedDays: 9, IsolatedToday: true, WorkingDayNow: true}, false},
		{"too little history", PersonHistory{ActiveDays: 4, IsolatedToday: true, WorkingDayNow: true}, false},
		{"weekend", PersonHistory{ActiveDays: 10, IsolatedToday: true, WorkingDayNow: false}, false},
		{"not isolated today", PersonHistory{ActiveDays: 10, IsolatedToday: false, WorkingDayNow: true}, false},
	} {
		if got := r.Newly(tc.h); got != tc.want {
			t.Errorf("%s: Newly = %v, want %v", tc.name, got, tc.want)
		}
	}
	day := time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)
	hist := []PersonHistory{
		{Team: "a", ActiveDays: 10, IsolatedToday: true, WorkingDayNow: true},
		{Team: "a", ActiveDays: 10, IsolatedToday: true, WorkingDayNow: true},
		{Team: "small", ActiveDays: 10, IsolatedToday: true, WorkingDayNow: true},
	}
	as := r.anomalies(day, hist, map[string]bool{"a": true})
	if len(as) != 1 || as[0].Team != "a" || as[0].Value != 2 || as[0].Metric != MetricIsolatedMembers {
		t.Fatalf("anomalies = %+v, want one for team a with 2 members (team below k left out)", as)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero value", Config{}, true},
		{"k of one", Config{MinGroupSize: 1}, false},
		{"hours reversed", Config{WorkStartHour: 18, WorkEndHour: 9}, false},
		{"bad isolation share", Config{Isolation: IsolationRule{HistoryDays: 14, MinHistory: 5, MaxIsolatedShare: 1}}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}

func TestShareShiftSignificant(t *testing.T) {
	for _, tc := range []struct {
		name            string
		value, expected float64
		n               uint64
		want            bool
	}{
		{"weekend noise: 30 messages, 0.05 vs 0.21", 0.05, 0.21, 30, false},
		{"silo: 300 messages, 0 vs 0.19", 0, 0.19, 300, true},
		{"sentiment drop: 300 scored, 0.57 vs 0.2", 0.57, 0.2, 300, true},
		{"small shift on a big day", 0.22, 0.2, 500, false},
		{"no trials", 0, 0.5, 0, false},
		{"expected 0 still needs evidence", 0.02, 0, 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := shareShiftSignificant(tc.value, tc.expected, tc.n); got != tc.want {
				t.Fatalf("shareShiftSignificant(%v, %v, %d) = %v", tc.value, tc.expected, tc.n, got)
			}
		})
	}
}
