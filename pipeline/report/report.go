// Package report writes `commpulse report`: one self-contained HTML file
// (no script, no external asset, a strict Content-Security-Policy, charts
// as inline SVG) of the published team figures of a period: an
// organisation overview, each team's belonging, sentiment and negative
// share with its anomalies and early warnings, the drivers (themes), the
// team-level network, the review status of the alerts, and per team a
// short list of what to look at.
//
// It reads only what store's Report* methods read: the published k-safe
// views, as the analyst role may. Every figure in the page is an HTML
// <data> element naming the view, the row and the column it comes from
// (data-view, data-team, data-day, data-key, data-col; data-agg when it is
// a sum, a count or a ratio of such rows), so that a reader, and the
// attack suite, can trace each one back to a published row. Charts are
// drawn from the same rows and carry no figure of their own.
package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"commpulse/pipeline/store"
)

// Source is what the report reads: *store.Store's Report* methods.
type Source interface {
	ReportStats(ctx context.Context, from, to time.Time) ([]store.ReportDay, error)
	ReportBelonging(ctx context.Context, from, to time.Time) ([]store.ReportBelongingDay, error)
	ReportNetworks(ctx context.Context, from, to time.Time) ([]store.ReportNetwork, error)
	ReportThemes(ctx context.Context, from, to time.Time) ([]store.ReportTheme, error)
	ReportAnomalies(ctx context.Context, from, to time.Time) ([]store.ReportAnomaly, error)
	ReportWarnings(ctx context.Context, from, to time.Time) ([]store.ReportAnomaly, error)
}

// Data is everything a report shows: the published rows of the period.
type Data struct {
	From, To  time.Time // days; To included
	Generated time.Time
	Stats     []store.ReportDay
	Belonging []store.ReportBelongingDay
	Networks  []store.ReportNetwork
	Themes    []store.ReportTheme
	Anomalies []store.ReportAnomaly
	Warnings  []store.ReportAnomaly
}

// Read reads the published rows of cfg's period from src.
func Read(ctx context.Context, cfg Config, src Source) (*Data, error) {
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	from, end := cfg.From, cfg.End()
	d := &Data{From: cfg.From, To: cfg.To, Generated: now().UTC()}
	var err error
	if d.Stats, err = src.ReportStats(ctx, from, end); err != nil {
		return nil, err
	}
	if d.Belonging, err = src.ReportBelonging(ctx, from, end); err != nil {
		return nil, err
	}
	if d.Networks, err = src.ReportNetworks(ctx, from, end); err != nil {
		return nil, err
	}
	if d.Themes, err = src.ReportThemes(ctx, from, end); err != nil {
		return nil, err
	}
	if d.Anomalies, err = src.ReportAnomalies(ctx, from, end); err != nil {
		return nil, err
	}
	if d.Warnings, err = src.ReportWarnings(ctx, from, end); err != nil {
		return nil, err
	}
	return d, nil
}

// Summary is what Write reports of the file it wrote.
type Summary struct {
	Path   string
	Bytes  int
	Teams  int
	Charts []string // the ids of the charts' svg elements, in page order
}

// Write reads cfg's period from src, renders it and writes cfg.Out
// (through a temporary file in the same directory, renamed when complete,
// mode 0600: the page holds team figures).
func Write(ctx context.Context, cfg Config, src Source) (Summary, error) {
	d, err := Read(ctx, cfg, src)
	if err != nil {
		return Summary{}, err
	}
	var buf bytes.Buffer
	p, err := Render(&buf, d)
	if err != nil {
		return Summary{}, err
	}
	if err := writeFile(cfg.Out, buf.Bytes()); err != nil {
		return Summary{}, err
	}
	return Summary{Path: cfg.Out, Bytes: buf.Len(), Teams: len(p.Teams), Charts: p.ChartIDs()}, nil
}

func writeFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".report-*.html")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) //nolint:errcheck // gone after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("report: write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
