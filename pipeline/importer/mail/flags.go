package mail

import "flag"

// Defaults returns mail's own defaults; the shared importer.Config is the
// caller's to fill.
func Defaults() Config { return Config{MaxReceived: DefaultMaxReceived} }

// RegisterFlags registers mail's own flags on fs, bound to c's fields with
// c's values as defaults: call it on Defaults().
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxReceived, "max-received", c.MaxReceived, "a message with more Received headers is a mail loop and is excluded")
}
