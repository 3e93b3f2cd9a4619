// Package flagvalue holds the flag.Value types that the packages'
// RegisterFlags methods share. Each binds a config field directly, so a
// config needs no copy from a flag struct.
package flagvalue

import (
	"errors"
	"flag"
	"io"
	"strings"
)

// List binds *p as a comma-separated list: "a, b" sets [a b]. An empty
// list is refused.
func List(p *[]string) flag.Value { return (*list)(p) }

type list []string

func (l *list) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *list) Set(v string) error {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return errors.New("empty list")
	}
	*l = out
	return nil
}

// Parse parses args with a fresh FlagSet on which register (a config's
// RegisterFlags) registered its flags; errors are returned, not printed.
// It is how a config's flags are tried without a command.
func Parse(register func(*flag.FlagSet), args ...string) error {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	register(fs)
	return fs.Parse(args)
}
