// Package defaults fills the zero fields of a config struct from its
// defaults, one line per field.
//
// The configs of commpulse's packages (ingest.Config, analyze.Config,
// analyze.AlertsConfig, store.Flags, kafkaconn.Config) share one
// convention, as dskit's and franz-go's do:
//   - Defaults() (or DefaultX()) returns the defaults: the one place they
//     live.
//   - (*Config).RegisterFlags(fs) binds the fields to their flags with the
//     receiver's values as defaults: call it on Defaults(). The command
//     parses straight into the config; nothing is copied from a flag struct.
//   - (*Config).Validate() fills the zero fields from the defaults, resolves
//     what files give (secrets, TLS), and returns the first bad setting,
//     named by its flag. A validated config is ready to use.
package defaults

// Fill sets *p to d when *p is the zero value of T. A zero field means
// "not set" in the project's config structs, so a field whose zero is a
// meaningful setting needs its own rule instead.
func Fill[T comparable](p *T, d T) {
	var zero T
	if *p == zero {
		*p = d
	}
}
