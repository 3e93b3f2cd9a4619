package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"commpulse/pipeline/store"
)

// chConfig validates the ClickHouse flags (reading the password and TLS
// files) and returns the connection they describe.
func chConfig(f *store.Flags) (store.Config, error) {
	if err := f.Validate(); err != nil {
		return f.Config, usageError{err}
	}
	return f.Config, nil
}

// logFlags binds --log-level and --log-format.
type logFlags struct{ level, format string }

func (l *logFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

// parseWithLogger parses the flags of a long-running subcommand (flags,
// then COMMPULSE_* env) and returns the logger its log flags ask for.
func parseWithLogger(fs *flag.FlagSet, args []string, l *logFlags, w io.Writer) (*slog.Logger, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return l.logger(w)
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usageError{fmt.Errorf("log-level %q: %w", l.level, err)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("log-format %q: want text or json", l.format)}
}
