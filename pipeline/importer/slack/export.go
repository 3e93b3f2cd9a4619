// Package slack turns a Slack workspace export (the zip Slack's "Export
// data" writes, or that zip unpacked) into contract-v1 chat events,
// pseudonymised at the source with the shared rules of package importer:
// a user's id is the keyed hash of their normalised e-mail address (the
// same id the mail importer and ingest's --pseudonym-key-file give), names
// never leave the importer, bots, joins and system messages are excluded
// and counted. The rules are in docs/importers.md.
package slack

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Limits of the reader.
const (
	// DefaultMaxDayFileBytes: a day file larger than this is a counted
	// skip (a day file is read whole, so that a broken one is skipped
	// whole).
	DefaultMaxDayFileBytes = 64 << 20
	// MaxMetaBytes bounds users.json and the conversation lists.
	MaxMetaBytes = 512 << 20
)

// ErrNotExport is wrapped by every error that says the input is not a
// readable Slack export.
var ErrNotExport = errors.New("not a readable Slack export")

// Kind of a conversation.
type Kind int

const (
	KindChannel Kind = iota // public channel (channels.json)
	KindGroup               // private channel (groups.json)
	KindMPIM                // group DM (mpims.json)
	KindDM                  // direct message (dms.json)
)

var kindFiles = []struct {
	file     string
	kind     Kind
	required bool
}{
	{"channels.json", KindChannel, true},
	{"groups.json", KindGroup, false},
	{"mpims.json", KindMPIM, false},
	{"dms.json", KindDM, false},
}

// Conversation is one channel, private channel, group DM or DM. Its name
// is only used to find its folder and is never written anywhere.
type Conversation struct {
	ID      string
	Kind    Kind
	Members []string // user ids, as the export lists them (membership at export time)
	folder  string
	Days    []Day
}

// Day is one day file of a conversation.
type Day struct {
	Path string // inside the export (names the conversation's folder: never print it)
	Date string // YYYY-MM-DD
	Size int64
}

// User is what the importer keeps of a users.json entry. The names are
// kept only to redact them from texts.
type User struct {
	ID         string
	Email      string // normalised; "" when the profile has none
	Deleted    bool
	Bot        bool // is_bot, is_app_user or USLACKBOT
	Restricted bool // a guest: is_restricted or is_ultra_restricted
	Names      []string
}

// Export is an opened export: its users and conversations are read, the
// messages are read later, one day file at a time.
type Export struct {
	fsys          fs.FS
	closer        io.Closer
	Users         map[string]*User
	UserOrder     []string // users.json order
	Conversations []*Conversation
	// Ignored counts files that are neither metadata nor a day file of a
	// listed conversation; Orphans the day files in folders no list names.
	Ignored, Orphans int
	DayBytes         int64 // total size of the day files
}

// Close releases the archive.
func (e *Export) Close() error {
	if e.closer != nil {
		return e.closer.Close()
	}
	return nil
}

var dayName = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})\.json$`)

// Open opens an export: a directory, or a zip archive (also one whose
// files are under a single top-level folder). A zip is checked whole
// first (every member read through its CRC-32), so that a corrupt archive
// fails here, before anything is imported. Errors name the path given and
// the file inside the export that is at fault, never a conversation's
// folder (an MPIM folder is made of user names).
func Open(p string) (*Export, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", p, err)
	}
	ex := &Export{}
	if st.IsDir() {
		ex.fsys = os.DirFS(p)
	} else {
		zr, err := zip.OpenReader(p)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w: not a zip archive, or a truncated one (%v)", p, ErrNotExport, zipReason(err))
		}
		if err := verifyZip(&zr.Reader); err != nil {
			zr.Close()
			return nil, fmt.Errorf("export %s: %w: %v", p, ErrNotExport, err)
		}
		ex.fsys, ex.closer = zr, zr
	}
	if err := ex.load(); err != nil {
		ex.Close()
		return nil, fmt.Errorf("export %s: %w", p, err)
	}
	return ex, nil
}

// OpenZip opens an export from a zip archive's bytes (checked whole, as
// Open does).
func OpenZip(r io.ReaderAt, size int64) (*Export, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip archive, or a truncated one (%v)", ErrNotExport, zipReason(err))
	}
	if err := verifyZip(zr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotExport, err)
	}
	return OpenFS(zr)
}

// OpenFS opens an export held in fsys (an unpacked export, a zip.Reader).
func OpenFS(fsys fs.FS) (*Export, error) {
	ex := &Export{fsys: fsys}
	if err := ex.load(); err != nil {
		return nil, err
	}
	return ex, nil
}

// zipReason maps archive/zip's errors to words that do not quote the
// archive's content.
func zipReason(err error) string {
	switch {
	case errors.Is(err, zip.ErrFormat):
		return "no valid central directory"
	case errors.Is(err, zip.ErrAlgorithm):
		return "unsupported compression method"
	case errors.Is(err, zip.ErrChecksum):
		return "checksum mismatch"
	case errors.Is(err, zip.ErrInsecurePath):
		return "a member has an unsafe path"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "cut short"
	}
	return "unreadable"
}

// verifyZip reads every member that the import would read (metadata up
// to MaxMetaBytes, day files up to DefaultMaxDayFileBytes; larger ones
// are refused or skipped later without being read) through its checksum.
func verifyZip(zr *zip.Reader) error {
	for i, f := range zr.File {
		if f.FileInfo().IsDir() || f.UncompressedSize64 > MaxMetaBytes {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("member %d: %s", i+1, zipReason(err))
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("member %d: %s", i+1, zipReason(err))
		}
	}
	return nil
}

// load finds the export's root, reads users.json and the conversation
// lists and finds every conversation's day files.
func (ex *Export) load() error {
	if _, err := fs.Stat(ex.fsys, "users.json"); err != nil {
		ents, derr := fs.ReadDir(ex.fsys, ".")
		var dirs []string
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
		if derr != nil || len(dirs) != 1 {
			return fmt.Errorf("%w: no users.json", ErrNotExport)
		}
		if _, err := fs.Stat(ex.fsys, dirs[0]+"/users.json"); err != nil {
			return fmt.Errorf("%w: no users.json", ErrNotExport)
		}
		sub, err := fs.Sub(ex.fsys, dirs[0])
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNotExport, err)
		}
		ex.fsys = sub
	}
	if err := ex.loadUsers(); err != nil {
		return err
	}
	byFolder := map[string]*Conversation{}
	seen := map[string]bool{}
	for _, kf := range kindFiles {
		var list []struct {
			ID      string   `json:"id"`
			Name    string   `json:"name"`
			Members []string `json:"members"`
		}
		b, err := readMeta(ex.fsys, kf.file)
		if errors.Is(err, fs.ErrNotExist) && !kf.required {
			continue
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("%w: %s: %s", ErrNotExport, kf.file, jsonReason(err))
		}
		for i, c := range list {
			if c.ID == "" || seen[c.ID] {
				return fmt.Errorf("%w: %s entry %d: no id, or an id listed twice", ErrNotExport, kf.file, i+1)
			}
			seen[c.ID] = true
			conv := &Conversation{ID: c.ID, Kind: kf.kind, Members: c.Members}
			// Slack names the folder of a DM by its id, of the others by
			// their name; some exports use ids throughout.
			for _, f := range []string{c.Name, c.ID} {
				if f != "" && byFolder[f] == nil {
					byFolder[f] = conv
					if conv.folder == "" {
						conv.folder = f
					}
				}
			}
			ex.Conversations = append(ex.Conversations, conv)
		}
	}
	err := fs.WalkDir(ex.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%w: cannot list the export (%v)", ErrNotExport, errors.Unwrap(err))
		}
		if d.IsDir() {
			return nil
		}
		dir, name := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			switch name {
			case "users.json", "channels.json", "groups.json", "mpims.json", "dms.json":
			default:
				ex.Ignored++
			}
			return nil
		}
		m := dayName.FindStringSubmatch(name)
		if m == nil || strings.Contains(dir, "/") {
			ex.Ignored++
			return nil
		}
		conv := byFolder[dir]
		if conv == nil {
			ex.Orphans++
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("%w: cannot stat a day file (%v)", ErrNotExport, errors.Unwrap(err))
		}
		conv.Days = append(conv.Days, Day{Path: p, Date: m[1], Size: info.Size()})
		ex.DayBytes += info.Size()
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(ex.Conversations, func(i, j int) bool {
		a, b := ex.Conversations[i], ex.Conversations[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.ID < b.ID
	})
	for _, c := range ex.Conversations {
		sort.Slice(c.Days, func(i, j int) bool { return c.Days[i].Path < c.Days[j].Path })
	}
	return nil
}

type rawUser struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	RealName          string `json:"real_name"`
	Deleted           bool   `json:"deleted"`
	IsBot             bool   `json:"is_bot"`
	IsAppUser         bool   `json:"is_app_user"`
	IsRestricted      bool   `json:"is_restricted"`
	IsUltraRestricted bool   `json:"is_ultra_restricted"`
	Profile           struct {
		Email                 string `json:"email"`
		RealName              string `json:"real_name"`
		RealNameNormalized    string `json:"real_name_normalized"`
		DisplayName           string `json:"display_name"`
		DisplayNameNormalized string `json:"display_name_normalized"`
		FirstName             string `json:"first_name"`
		LastName              string `json:"last_name"`
	} `json:"profile"`
}

func (ex *Export) loadUsers() error {
	b, err := readMeta(ex.fsys, "users.json")
	if err != nil {
		return err
	}
	var list []rawUser
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("%w: users.json: %s", ErrNotExport, jsonReason(err))
	}
	ex.Users = make(map[string]*User, len(list))
	for i, u := range list {
		if u.ID == "" || ex.Users[u.ID] != nil {
			return fmt.Errorf("%w: users.json entry %d: no id, or an id listed twice", ErrNotExport, i+1)
		}
		p := u.Profile
		ex.Users[u.ID] = &User{
			ID: u.ID, Email: p.Email, Deleted: u.Deleted,
			Bot:        u.IsBot || u.IsAppUser || u.ID == "USLACKBOT",
			Restricted: u.IsRestricted || u.IsUltraRestricted,
			Names:      []string{u.Name, u.RealName, p.RealName, p.RealNameNormalized, p.DisplayName, p.DisplayNameNormalized, p.FirstName, p.LastName},
		}
		ex.UserOrder = append(ex.UserOrder, u.ID)
	}
	return nil
}

// readMeta reads a metadata file whole (bounded by MaxMetaBytes).
func readMeta(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no %s: %w", ErrNotExport, name, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("%w: %s: cannot open", ErrNotExport, name)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMetaBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrNotExport, name, zipReason(err))
	}
	if len(b) > MaxMetaBytes {
		return nil, fmt.Errorf("%w: %s: larger than %d MiB", ErrNotExport, name, MaxMetaBytes>>20)
	}
	return b, nil
}

// ReadDay reads one day file whole, at most max bytes (ErrDayTooLarge
// beyond). wrap, if set, wraps the reader (progress counts bytes).
func (ex *Export) ReadDay(d Day, max int64, wrap func(io.Reader) io.Reader) ([]byte, error) {
	if d.Size > max {
		return nil, ErrDayTooLarge
	}
	f, err := ex.fsys.Open(d.Path)
	if err != nil {
		return nil, fmt.Errorf("day file %s: cannot open", d.Date)
	}
	defer f.Close()
	var r io.Reader = f
	if wrap != nil {
		r = wrap(r)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(d.Size, max)) + 1)
	if _, err := buf.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		return nil, fmt.Errorf("day file %s: %s", d.Date, zipReason(err))
	}
	if int64(buf.Len()) > max {
		return nil, ErrDayTooLarge
	}
	return buf.Bytes(), nil
}

// ErrDayTooLarge: a day file over the limit (a counted skip).
var ErrDayTooLarge = errors.New("day file too large")

// jsonReason describes a JSON error without quoting the input.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("unexpected JSON %s at byte %d", te.Value, te.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "JSON cut short"
	}
	return "invalid JSON"
}
