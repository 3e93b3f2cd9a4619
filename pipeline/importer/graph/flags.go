package graph

import (
	"flag"

	"commpulse/pipeline/importer/mail"
)

// Defaults returns Graph's own defaults; the shared importer.Config is the
// caller's to fill.
func Defaults() Config {
	return Config{BroadcastMax: DefaultBroadcastMax, MaxReceived: mail.DefaultMaxReceived}
}

// RegisterFlags registers Graph's own flags on fs, bound to c's fields with
// c's values as defaults: call it on Defaults().
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.BroadcastMax, "broadcast-max", c.BroadcastMax, "a Teams message with more potential recipients than this (1..1000) gets none")
	fs.IntVar(&c.MaxReceived, "max-received", c.MaxReceived, "a mail with more Received headers (internetMessageHeaders) is a mail loop and is excluded")
}
