package main

import (
	"context"
	"fmt"
	"io"

	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "migrate", summary: "create or upgrade the ClickHouse schema (idempotent)", run: runMigrate})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	var ch clickhouseFlags
	ch.bind(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := ch.config()
	if err != nil {
		return err
	}
	st, err := store.Open(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema of %s is up to date\n", cfg.Database)
		return nil
	}
	fmt.Fprintf(stdout, "applied migrations %v to %s\n", applied, cfg.Database)
	return nil
}
