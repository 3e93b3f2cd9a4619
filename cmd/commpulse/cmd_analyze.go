package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/health"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "analyze", summary: "turn closed windows of messages into team stats, networks and anomalies", run: runAnalyze})
}

// analyzeFlags are the flags of `commpulse analyze`.
type analyzeFlags struct {
	kafka        kafkaFlags
	alertsTopic  string
	ch           clickhouseFlags
	log          logFlags
	httpAddr     string
	migrate      bool
	once         bool
	noAlerts     bool
	privacy      publish.Policy
	latenessHour time.Duration
	latenessDay  time.Duration
	since        string
	tick         time.Duration
	workStart    int
	workEnd      int
	rollingDays  int
}

func (f *analyzeFlags) bind(fs *flag.FlagSet) {
	d := analyze.Defaults()
	f.kafka.bind(fs)
	fs.StringVar(&f.alertsTopic, "alerts-topic", "comms.alerts", "topic for anomaly alerts (one JSON record per anomaly)")
	f.ch.bind(fs)
	f.log.bind(fs)
	fs.StringVar(&f.httpAddr, "http-addr", ":9101", "address of /metrics, /healthz and /readyz (empty: none)")
	fs.BoolVar(&f.migrate, "migrate", true, "apply ClickHouse migrations at start")
	fs.BoolVar(&f.once, "once", false, "process the closed windows, then exit")
	fs.BoolVar(&f.noAlerts, "no-alerts", false, "store anomalies without publishing them to the alerts topic")
	f.privacy = d.Privacy
	f.privacy.RegisterFlags(fs)
	fs.DurationVar(&f.latenessHour, "lateness-hour", d.LatenessHour, "allowed lateness of hour windows")
	fs.DurationVar(&f.latenessDay, "lateness-day", d.LatenessDay, "allowed lateness of day windows")
	fs.StringVar(&f.since, "since", "", "re-process windows from this instant (2026-11-02 or RFC 3339); default: resume")
	fs.DurationVar(&f.tick, "tick", d.Tick, "how often to look for newly closed windows")
	fs.IntVar(&f.workStart, "work-start-hour", d.WorkStartHour, "start of working hours, UTC, for the after-hours share")
	fs.IntVar(&f.workEnd, "work-end-hour", d.WorkEndHour, "end of working hours, UTC")
	fs.IntVar(&f.rollingDays, "rolling-days", d.RollingDays, "length of the rolling network window (negative: off)")
}

func (f *analyzeFlags) config() (analyze.Config, error) {
	cfg := analyze.Defaults()
	cfg.Privacy = f.privacy
	cfg.LatenessHour, cfg.LatenessDay, cfg.Tick = f.latenessHour, f.latenessDay, f.tick
	cfg.WorkStartHour, cfg.WorkEndHour, cfg.RollingDays = f.workStart, f.workEnd, f.rollingDays
	if f.since != "" {
		var err error
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
			var t time.Time
			if t, err = time.Parse(layout, f.since); err == nil {
				cfg.Since = t.UTC()
				break
			}
		}
		if err != nil {
			return cfg, usageError{fmt.Errorf("since %q: want 2026-11-02, 2026-11-02T10:00 or RFC 3339", f.since)}
		}
	}
	for name, d := range map[string]time.Duration{"lateness-hour": f.latenessHour, "lateness-day": f.latenessDay, "tick": f.tick} {
		if d <= 0 {
			return cfg, usageError{fmt.Errorf("%s %s: must be > 0", name, d)}
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", stderr)
	var f analyzeFlags
	f.bind(fs)
	log, err := parseWithLogger(fs, args, &f.log, stderr)
	if err != nil {
		return err
	}
	chCfg, err := f.ch.config()
	if err != nil {
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	cfg.Logger = log
	st, err := store.Open(chCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if f.migrate {
		if err := migrateWithRetry(ctx, st, log); err != nil {
			return err
		}
	}
	var alerts analyze.Alerter
	if !f.noAlerts {
		tc, mech, err := f.kafka.security()
		if err != nil {
			return err
		}
		ka := analyze.NewKafkaAlerter(f.kafka.brokers, f.alertsTopic)
		ka.W.Transport = &kafka.Transport{TLS: tc, SASL: mech}
		defer ka.Close()
		alerts = ka
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := analyze.New(cfg, st, alerts, reg)
	if err != nil {
		return usageError{err}
	}
	if f.once {
		t0 := time.Now()
		n, err := a.Step(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "analyzed %d windows in %s\n", n, time.Since(t0).Round(time.Millisecond))
		return nil
	}
	log.Info("analyze starting", "clickhouse", chCfg.Addr, "database", chCfg.Database, "k", cfg.Privacy.K, "epsilon_per_person_day", cfg.Privacy.PerPersonDay(),
		"alerts", !f.noAlerts, "pid", os.Getpid())
	g, gctx := errgroup.WithContext(ctx)
	if f.httpAddr != "" {
		srv, err := health.Listen(f.httpAddr, reg, a.Ready, log)
		if err != nil {
			return err
		}
		log.Info("serving /metrics", "http", srv.Addr())
		g.Go(func() error { return srv.Serve(gctx) })
	}
	g.Go(func() error { return a.Run(gctx) })
	return g.Wait()
}
