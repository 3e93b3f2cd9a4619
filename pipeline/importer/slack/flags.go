package slack

import "flag"

// Defaults returns Slack's own defaults; the shared importer.Config is the
// caller's to fill.
func Defaults() Config { return Config{BroadcastMax: DefaultBroadcastMax} }

// RegisterFlags registers Slack's own flags on fs, bound to c's fields with
// c's values as defaults: call it on Defaults().
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.BroadcastMax, "broadcast-max", c.BroadcastMax, "a message with more potential recipients (channel members, thread participants) than this (1..1000) gets none")
}
