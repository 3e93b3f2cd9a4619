package report

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Config is what `commpulse report` is asked for: the days of the period
// and the file to write.
type Config struct {
	// From and To are the first and the last day of the period (UTC
	// midnights; To is included). Validate fills them from the flags, by
	// default the four weeks that end yesterday.
	From, To time.Time
	// Out is the HTML file written (replaced atomically, mode 0600).
	Out string
	// Now is the clock of the defaults and of the report's date (nil:
	// time.Now).
	Now func() time.Time

	fromFlag, toFlag string
}

// DefaultDays is the length of the default period.
const DefaultDays = 28

// MaxDays bounds a period: the published rows live 180 days by default,
// and a longer period would only draw unreadably narrow charts.
const MaxDays = 366

// DefaultOut is the default --out.
const DefaultOut = "report.html"

// Defaults returns the default configuration.
func Defaults() Config { return Config{Out: DefaultOut} }

// RegisterFlags registers --from, --to and --out on fs with c's values as
// defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.fromFlag, "from", c.fromFlag, fmt.Sprintf("first day of the report, YYYY-MM-DD (default: %d days before --to)", DefaultDays-1))
	fs.StringVar(&c.toFlag, "to", c.toFlag, "last day of the report, included, YYYY-MM-DD (default: yesterday, UTC)")
	fs.StringVar(&c.Out, "out", c.Out, "HTML file to write (one self-contained file)")
}

// Validate parses the flags into From and To, fills the defaults and
// checks the period.
func (c *Config) Validate() error {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if c.toFlag != "" {
		t, err := time.Parse(time.DateOnly, c.toFlag)
		if err != nil {
			return fmt.Errorf("to %q: want YYYY-MM-DD", c.toFlag)
		}
		c.To, c.toFlag = t, ""
	}
	if c.To.IsZero() {
		c.To = now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	}
	if c.fromFlag != "" {
		t, err := time.Parse(time.DateOnly, c.fromFlag)
		if err != nil {
			return fmt.Errorf("from %q: want YYYY-MM-DD", c.fromFlag)
		}
		c.From, c.fromFlag = t, ""
	}
	if c.From.IsZero() {
		c.From = c.To.AddDate(0, 0, -(DefaultDays - 1))
	}
	c.From, c.To = c.From.UTC().Truncate(24*time.Hour), c.To.UTC().Truncate(24*time.Hour)
	if c.To.Before(c.From) {
		return fmt.Errorf("to %s is before from %s", c.To.Format(time.DateOnly), c.From.Format(time.DateOnly))
	}
	if n := c.Days(); n > MaxDays {
		return fmt.Errorf("period of %d days: at most %d", n, MaxDays)
	}
	if c.Out == "" {
		return errors.New("out: a file name is needed")
	}
	return nil
}

// Days is the number of days of the period, both ends included.
func (c Config) Days() int { return int(c.To.Sub(c.From)/(24*time.Hour)) + 1 }

// End is the first instant after the period (the day after To).
func (c Config) End() time.Time { return c.To.AddDate(0, 0, 1) }
