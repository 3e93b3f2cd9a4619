package analyze

import (
	"context"
	"time"

	"commpulse/pipeline/review"
)

// unsuppressed returns the alerts of fresh that no standing dismissal
// suppresses (review.Suppression with Config.ReviewSuppressDays): a
// reviewer who dismissed an anomaly does not get its repeats for the
// suppression window. The suppressed anomalies are still stored and
// counted as anomalies by publish; here they are counted as suppressed.
// Without an alerter, or with nothing new, ClickHouse is not asked.
func (a *Analyzer) unsuppressed(ctx context.Context, from, to time.Time, fresh []Alert) ([]Alert, error) {
	rule := review.Suppression{Days: a.cfg.ReviewSuppressDays}
	if rule.Days <= 0 || a.alerts == nil || len(fresh) == 0 {
		return fresh, nil
	}
	dfrom, dto := rule.Range(from, to)
	ds, err := a.db.StandingDismissals(ctx, dfrom, dto)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return fresh, nil
	}
	out := make([]Alert, 0, len(fresh))
	for _, al := range fresh {
		if d, ok := rule.Suppressed(ds, al.Anomaly); ok {
			a.m.AlertsSuppressed.Inc()
			a.log.Info("alert suppressed by a standing dismissal", "key", al.Key, "dismissed", d.AnomalyKey.String(), "reason", d.Reason)
			continue
		}
		out = append(out, al)
	}
	return out, nil
}
