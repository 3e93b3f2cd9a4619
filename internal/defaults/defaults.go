// Package defaults fills the zero fields of a config struct from its
// defaults, one line per field.
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
