package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/pipeline/importer"
	"commpulse/pipeline/importer/mail"
	"commpulse/pipeline/importer/slack"
	"commpulse/pipeline/kafkaconn"
)

func init() {
	register(command{
		name:    "import",
		summary: "import real data as pseudonymised events: 'import mail PATH...' reads mbox, Maildir and .eml; 'import slack EXPORT' a Slack workspace export; 'import graph PATH...' Microsoft Graph mail and Teams pages saved to files",
		run:     runImport,
	})
}

// domainList is a repeatable, comma-separated flag (--domain a --domain b,c).
type domainList []string

func (d *domainList) String() string { return strings.Join(*d, ",") }
func (d *domainList) Set(v string) error {
	n := 0
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*d = append(*d, p)
			n++
		}
	}
	if n == 0 {
		return errors.New("empty domain")
	}
	return nil
}

// importFlags are the flags every `commpulse import <source>` has.
type importFlags struct {
	kafka                      kafkaconn.Config
	topics                     importer.Topics
	keyFile                    string
	domains                    domainList
	consentFile, directoryFile string
	out                        string
	progress                   time.Duration
}

func (f *importFlags) bind(fs *flag.FlagSet, domainFlag, domainHelp string) {
	f.kafka = kafkaconn.Defaults()
	f.kafka.RegisterFlags(fs)
	f.topics = importer.DefaultTopics
	f.topics.RegisterFlags(fs)
	fs.Lookup("directory-topic").Usage += " (written only with --directory)"
	fs.Lookup("consent-topic").Usage += " (written only with --consent-file)"
	fs.StringVar(&f.keyFile, "pseudonym-key-file", "", "REQUIRED: file with a secret key (>= 32 bytes); every address becomes HMAC-SHA256 under it, as ingest's --pseudonym-key-file does")
	fs.Var(&f.domains, domainFlag, domainHelp)
	fs.StringVar(&f.consentFile, "consent-file", "", "CSV of opted-in addresses (first column): others are dropped, and consent records are written for these")
	fs.StringVar(&f.directoryFile, "directory", "", "directory CSV: address,team, or an HRIS export with a header (email or employee_id, team, manager, time_zone, valid_from, valid_to, ...; docs/importers.md); writes directory records (otherwise the directory is left to other tools)")
	fs.StringVar(&f.out, "out", "", "write JSON Lines {topic,key,value} to this file instead of Kafka")
	fs.DurationVar(&f.progress, "progress-interval", 3*time.Second, "how often progress is written to stderr (0: never)")
}

// importMailFlags are the flags of `commpulse import mail`.
type importMailFlags struct {
	importFlags
	cfg mail.Config
}

func (f *importMailFlags) bind(fs *flag.FlagSet) {
	f.importFlags.bind(fs, "domain", "REQUIRED: company mail domain (repeatable or comma-separated); other domains become one external participant each")
	f.cfg = mail.Defaults()
	f.cfg.RegisterFlags(fs)
}

// parseInterleaved parses flags and positional arguments in any order
// (the standard package stops at the first non-flag), then fills the
// flags not given from COMMPULSE_* variables.
func parseInterleaved(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is a path
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return pos, parseFlagsEnv(fs, nil, lookup)
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: commpulse import mail [flags] PATH... | commpulse import slack [flags] EXPORT | commpulse import graph [flags] PATH..."
	if len(args) > 0 {
		switch args[0] {
		case "mail":
			return runImportMail(ctx, args[1:], stdout, stderr, os.LookupEnv)
		case "slack":
			return runImportSlack(ctx, args[1:], stdout, stderr, os.LookupEnv)
		case "graph":
			return runImportGraph(ctx, args[1:], stdout, stderr, os.LookupEnv)
		case "-h", "--help", "-help":
			fmt.Fprintln(stderr, usage)
			return flag.ErrHelp
		}
	}
	return usageError{errors.New(usage + " (sources: mail, slack, graph)")}
}

// importSetup is what every import source starts from: the shared
// importer configuration, and the consent and directory lists.
type importSetup struct {
	cfg          importer.Config
	consentAddrs []string
	consentAt    time.Time
	teams        importer.Directory
	teamsAt      time.Time
}

// setup checks the shared flags and reads the key and the lists.
func (f *importFlags) setup(domainFlag string) (*importSetup, error) {
	if f.keyFile == "" {
		return nil, usageError{errors.New("--pseudonym-key-file is required: addresses are pseudonymised at the source")}
	}
	if len(f.domains) == 0 {
		return nil, usageError{fmt.Errorf("--%s is required: it tells company people from external participants", domainFlag)}
	}
	ps, err := loadPseudonymizer(f.keyFile)
	if err != nil {
		return nil, err
	}
	s := &importSetup{cfg: importer.Config{
		Pseudonymizer: ps, Domains: append([]string(nil), f.domains...),
		Topics: f.topics,
	}}
	if f.consentFile != "" {
		if s.consentAddrs, s.consentAt, err = readList(f.consentFile, "consent-file", importer.ReadConsentCSV); err != nil {
			return nil, err
		}
		s.cfg.Consent = map[string]bool{}
		for _, a := range s.consentAddrs {
			s.cfg.Consent[a] = true
		}
	}
	if f.directoryFile != "" {
		if s.teams, s.teamsAt, err = readList(f.directoryFile, "directory", importer.ReadDirectoryCSV); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// importRun is one source's run: its records come from each, which hands
// them to emit; counted is how far it got in bytes for progress (out of
// total).
type importRun struct {
	name    string // "mail", "slack": the prefix of progress and summary lines
	base    *importer.Base
	total   int64
	counted *atomic.Int64
	each    func(ctx context.Context, emit func(importer.Record) error) error
}

// run writes the consent and directory records, then the source's, to
// Kafka or --out, with progress on stderr; it returns the number of
// records sent. --out is renamed into place only when all succeeded.
func (f *importFlags) run(ctx context.Context, s *importSetup, r importRun, stderr io.Writer) (int, error) {
	sink, err := f.openSink()
	if err != nil {
		return 0, err
	}
	buf := &recordBuffer{ctx: ctx, sink: sink}
	for _, rec := range append(r.base.ConsentRecords(s.consentAddrs, s.consentAt), r.base.DirectoryRecords(s.teams, s.teamsAt)...) {
		if err := buf.add(rec); err != nil {
			return 0, sink.abort(err)
		}
	}
	prog := startProgress(stderr, r.name, f.progress, r.total, r.counted, r.base.Read)
	runErr := r.each(ctx, buf.add)
	prog()
	if runErr == nil {
		runErr = buf.flush()
	}
	if runErr != nil {
		runErr = sink.abort(runErr)
		fmt.Fprintf(stderr, "import %s: stopped: %s\n", r.name, r.base.Stats())
		return buf.sent, runErr
	}
	if err := sink.close(); err != nil {
		return buf.sent, err
	}
	return buf.sent, nil
}

// where names the destination in the summary.
func (f *importFlags) where() string {
	if f.out != "" {
		return f.out
	}
	return "kafka " + strings.Join(f.kafka.Brokers, ",")
}

func runImportMail(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs := newFlagSet("import mail", stderr)
	var f importMailFlags
	f.bind(fs)
	paths, err := parseInterleaved(fs, args, lookup)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{errors.New("give at least one mbox file, Maildir or directory of .eml files")}
	}
	s, err := f.setup("domain")
	if err != nil {
		return err
	}
	f.cfg.Config = s.cfg
	im, err := mail.New(f.cfg)
	if err != nil {
		return usageError{err}
	}
	inputs, ignored, err := mail.Inputs(paths)
	if err != nil {
		return usageError{err}
	}
	var total int64
	for _, in := range inputs {
		total += in.Size
	}
	var done atomic.Int64
	wrap := func(r io.Reader) io.Reader { return &countingReader{r: r, n: &done} }
	sent, err := f.run(ctx, s, importRun{name: "mail", base: im.Base, total: total, counted: &done,
		each: func(ctx context.Context, emit func(importer.Record) error) error {
			for _, in := range inputs {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := im.ImportInput(in, wrap, emit); err != nil {
					return err
				}
			}
			return nil
		}}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import mail: %d files (%d other files ignored), %d records to %s; %s\n",
		len(inputs), ignored, sent, f.where(), im.Stats())
	return nil
}

// readList opens a CSV list; its modification time is the time of the
// records made from it (stable across re-imports of the same file).
func readList[T any](path, flagName string, read func(io.Reader) (T, error)) (T, time.Time, error) {
	var zero T
	fh, err := os.Open(path)
	if err != nil {
		return zero, time.Time{}, usageError{fmt.Errorf("%s: %w", flagName, err)}
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return zero, time.Time{}, usageError{fmt.Errorf("%s: %w", flagName, err)}
	}
	v, err := read(bufio.NewReader(fh))
	if err != nil {
		return zero, time.Time{}, usageError{fmt.Errorf("%s %s: %w", flagName, path, err)}
	}
	return v, st.ModTime().UTC().Truncate(time.Second), nil
}

// recordSink is where records go: a JSON Lines file or Kafka.
type recordSink interface {
	write(ctx context.Context, recs []importer.Record) error
	close() error
	abort(err error) error // undo what can be undone, return err
}

// recordBuffer batches records for the sink.
type recordBuffer struct {
	ctx  context.Context
	sink recordSink
	recs []importer.Record
	sent int
}

func (b *recordBuffer) add(r importer.Record) error {
	b.recs = append(b.recs, r)
	if len(b.recs) >= bulkBatch {
		return b.flush()
	}
	return nil
}

func (b *recordBuffer) flush() error {
	if len(b.recs) == 0 {
		return nil
	}
	if err := b.sink.write(b.ctx, b.recs); err != nil {
		return err
	}
	b.sent += len(b.recs)
	b.recs = b.recs[:0]
	return nil
}

func (f *importFlags) openSink() (recordSink, error) {
	if f.out != "" {
		return newFileSink(f.out)
	}
	if err := f.kafka.Validate(); err != nil {
		return nil, usageError{err}
	}
	// The same writer as generate's, with the --kafka-tls / --kafka-sasl
	// settings of the connection.
	w := f.kafka.Writer("")
	w.BatchSize = bulkBatch
	return kafkaSink{w}, nil
}

type kafkaSink struct{ w *kafka.Writer }

func (k kafkaSink) write(ctx context.Context, recs []importer.Record) error {
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Topic: r.Topic, Key: r.Key, Value: r.Value}
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce to kafka: %w", err)
	}
	return nil
}

func (k kafkaSink) close() error {
	if err := k.w.Close(); err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}

// abort: what reached Kafka stays (re-importing gives the same ids, so a
// second run completes it without duplicates after dedup).
func (k kafkaSink) abort(err error) error { k.w.Close(); return err }

// fileSink writes JSON Lines to a temporary file next to the target and
// renames it into place only when the whole import succeeded: a failed
// import leaves no half-written file.
type fileSink struct {
	path string
	tmp  *os.File
	w    *bufio.Writer
}

func newFileSink(path string) (*fileSink, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("out: %w", err)
	}
	return &fileSink{path: path, tmp: tmp, w: bufio.NewWriterSize(tmp, 256<<10)}, nil
}

type jsonlRecord struct {
	Topic string          `json:"topic"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func (s *fileSink) write(_ context.Context, recs []importer.Record) error {
	enc := json.NewEncoder(s.w)
	for _, r := range recs {
		if err := enc.Encode(jsonlRecord{Topic: r.Topic, Key: string(r.Key), Value: r.Value}); err != nil {
			return fmt.Errorf("out: %w", err)
		}
	}
	return nil
}

func (s *fileSink) close() error {
	if err := s.w.Flush(); err != nil {
		return s.abort(fmt.Errorf("out: %w", err))
	}
	if err := s.tmp.Sync(); err != nil {
		return s.abort(fmt.Errorf("out: %w", err))
	}
	if err := s.tmp.Close(); err != nil {
		os.Remove(s.tmp.Name())
		return fmt.Errorf("out: %w", err)
	}
	if err := os.Rename(s.tmp.Name(), s.path); err != nil {
		os.Remove(s.tmp.Name())
		return fmt.Errorf("out: %w", err)
	}
	return nil
}

func (s *fileSink) abort(err error) error {
	s.tmp.Close()
	os.Remove(s.tmp.Name())
	return err
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// startProgress writes a progress line every interval: messages, rate,
// bytes and, since the total size is known, an ETA. The returned function
// stops it.
func startProgress(w io.Writer, name string, every time.Duration, total int64, done *atomic.Int64, msgs func() int64) func() {
	if every <= 0 {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				el := time.Since(start).Seconds()
				d, m := done.Load(), msgs()
				line := fmt.Sprintf("import %s: %d messages, %.0f msgs/s, %.1f of %.1f MB", name, m, float64(m)/el, float64(d)/1e6, float64(total)/1e6)
				if d > 0 && total > d {
					eta := time.Duration(float64(total-d) / (float64(d) / el) * float64(time.Second))
					line += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
				}
				fmt.Fprintln(w, line)
			}
		}
	}()
	return func() { close(stop); <-finished }
}

// importSlackFlags are the flags of `commpulse import slack`.
type importSlackFlags struct {
	importFlags
	cfg slack.Config
}

func (f *importSlackFlags) bind(fs *flag.FlagSet) {
	f.importFlags.bind(fs, "domain", "REQUIRED: company mail domain (repeatable or comma-separated); users whose e-mail is elsewhere become one external participant per domain, as in import mail")
	f.cfg = slack.Defaults()
	f.cfg.RegisterFlags(fs)
}

func runImportSlack(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs := newFlagSet("import slack", stderr)
	var f importSlackFlags
	f.bind(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: commpulse import slack --pseudonym-key-file K --domain D [flags] EXPORT

EXPORT is a Slack workspace export: the zip Slack's "Export data" writes, or
its unpacked directory (users.json, channels.json, groups.json, dms.json,
mpims.json, one folder of YYYY-MM-DD.json day files per conversation).
Every user becomes HMAC-SHA256 under the key of their normalised e-mail
address (the id import mail gives), or of "slack-user:" + their Slack id
without one; guests and other domains become one external participant per
domain; names never leave the importer. Bots, joins/leaves and system
messages are excluded and counted. Recipients: a thread reply's earlier
participants, a channel message's members, a DM's or group DM's members,
the sender removed; none above --broadcast-max. Event ids are keyed hashes
of conversation and ts: re-importing adds no rows. Rules: docs/importers.md.

flags:
`)
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args, lookup)
	if err != nil {
		return err
	}
	if len(paths) != 1 {
		return usageError{errors.New("give one Slack export: the zip Slack wrote, or its unpacked directory")}
	}
	s, err := f.setup("domain")
	if err != nil {
		return err
	}
	f.cfg.Config = s.cfg
	im, err := slack.New(f.cfg)
	if err != nil {
		return usageError{err}
	}
	ex, err := slack.Open(paths[0])
	if err != nil {
		return err
	}
	defer ex.Close()
	days := 0
	for _, c := range ex.Conversations {
		days += len(c.Days)
	}
	var done atomic.Int64
	wrap := func(r io.Reader) io.Reader { return &countingReader{r: r, n: &done} }
	sent, err := f.run(ctx, s, importRun{name: "slack", base: im.Base, total: ex.DayBytes, counted: &done,
		each: func(ctx context.Context, emit func(importer.Record) error) error {
			return im.ImportExport(ex, wrap, func(r importer.Record) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return emit(r)
			})
		}}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import slack: %d conversations, %d day files (%d other files ignored), %d records to %s; %s\n",
		len(ex.Conversations), days, ex.Ignored, sent, f.where(), im.Stats())
	return nil
}
