package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlagSet returns a FlagSet for a subcommand that reports errors instead
// of exiting, so tests can drive subcommands in-process.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("commpulse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// envName maps a flag name to its environment variable: "ch-addr" -> "COMMPULSE_CH_ADDR".
func envName(flagName string) string {
	return "COMMPULSE_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// parseFlags parses args, then fills every flag not given on the command
// line from its COMMPULSE_* environment variable. Command-line flags win over
// the environment, which wins over the defaults.
func parseFlags(fs *flag.FlagSet, args []string) error {
	return parseFlagsEnv(fs, args, os.LookupEnv)
}

func parseFlagsEnv(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		if v, ok := lookup(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = usageError{fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), e)}
			}
		}
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %q", fs.Args())}
	}
	return nil
}
