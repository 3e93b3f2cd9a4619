// Package graph turns Microsoft Graph JSON saved to files — Outlook mail
// (GET /users/{id}/messages, resource type message) and Teams chat and
// channel messages (GET /chats/{id}/messages,
// /teams/{id}/channels/{id}/messages, resource type chatMessage) — into
// contract-v1 events, pseudonymised at the source with the shared rules of
// package importer. Mail goes through the mail importer's rules
// (pipeline/importer/mail: the same event id for the same
// internetMessageId, the same exclusions and text clean-up); Teams
// messages follow the Slack importer's (bots and system messages
// excluded, a stated recipients rule with the broadcast cap). It reads
// files only: it never calls Graph. The rules are in docs/importers.md.
package graph

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// DefaultMaxDocBytes bounds one JSON document: a page file, or one line of
// a JSON Lines file. A page is read whole, so that a broken one is
// refused before anything is imported.
const DefaultMaxDocBytes = 256 << 20

// ErrNotGraph is wrapped by every error that says an input is not Graph
// JSON the importer reads.
var ErrNotGraph = errors.New("not Microsoft Graph JSON")

// Input is one file to read.
type Input struct {
	Path string
	Size int64
}

// Inputs expands the command-line paths into files, in a stable order: a
// file is read whatever its name; a directory is walked recursively in
// lexical order and its *.json, *.jsonl and *.ndjson files are read, other
// files are ignored (and counted).
func Inputs(paths []string) (inputs []Input, ignored int, err error) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, 0, fmt.Errorf("input %s: %w", p, err)
		}
		if !st.IsDir() {
			inputs = append(inputs, Input{Path: p, Size: st.Size()})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walk %s: %w", path, err)
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".json", ".jsonl", ".ndjson":
			default:
				ignored++
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", path, err)
			}
			inputs = append(inputs, Input{Path: path, Size: info.Size()})
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return inputs, ignored, nil
}

// Doc is one top-level JSON value of an input: a Graph list page (Items
// are its value array) or, in JSON Lines, one resource object (Items is
// that object). The values are valid only during the callback.
type Doc struct {
	Line    int    // 1-based line of a JSON Lines file; 0 for a whole-file document
	Page    bool   // a list page ({"value": [...]})
	Context string // the page's @odata.context (never print it: it names users)
	Items   []*fastjson.Value
	// InvalidUTF8: the document holds bytes that are not UTF-8 (every
	// string read from it has them replaced with U+FFFD).
	InvalidUTF8 bool
}

func (d Doc) where() string {
	if d.Line > 0 {
		return fmt.Sprintf("line %d", d.Line)
	}
	return "the document"
}

// ReadDocs reads an input's documents and hands each to fn. An input is
// either one JSON document (a page as Graph returns it, pretty-printed or
// not) or JSON Lines: one page or one resource object per line. Every
// top-level value must be an object: a page (with a "value" array) or a
// resource; a Graph error response, an array or a scalar is an error. A
// document over max bytes is an error. Errors say where (a line, a byte
// offset) and why, never quote the input.
func ReadDocs(r io.Reader, max int64, fn func(Doc) error) error {
	if max <= 0 {
		max = DefaultMaxDocBytes
	}
	br := bufio.NewReaderSize(r, 64<<10)
	// Windows tools write byte order marks: UTF-8's is dropped, UTF-16
	// (Windows PowerShell's Out-File default) is decoded.
	if b, _ := br.Peek(3); bytes.HasPrefix(b, []byte{0xef, 0xbb, 0xbf}) {
		br.Discard(3)
	} else if bytes.HasPrefix(b, []byte{0xff, 0xfe}) || bytes.HasPrefix(b, []byte{0xfe, 0xff}) {
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		br = bufio.NewReaderSize(transform.NewReader(br, dec), 64<<10)
	}
	lr := &lineReader{br: br}
	var p fastjson.Parser
	line := 0
	var first []byte
	for {
		l, err := lr.readLine(max)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		line++
		if len(bytes.TrimSpace(l)) > 0 {
			first = bytes.Clone(l)
			break
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: the file is empty", ErrNotGraph)
		}
	}
	if v, err := p.ParseBytes(first); err == nil {
		// JSON Lines (also one compact page on one line).
		if err := handleDoc(v, line, first, fn); err != nil {
			return err
		}
		for {
			l, err := lr.readLine(max)
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			line++
			if len(bytes.TrimSpace(l)) > 0 {
				v, perr := p.ParseBytes(l)
				if perr != nil {
					return fmt.Errorf("%w: line %d: %s", ErrNotGraph, line, jsonReason(l))
				}
				if herr := handleDoc(v, line, l, fn); herr != nil {
					return herr
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
		}
	}
	// One document over several lines.
	var buf bytes.Buffer
	buf.Write(first)
	buf.WriteByte('\n')
	n, err := buf.ReadFrom(io.LimitReader(br, max-int64(buf.Len())+1))
	_ = n
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if int64(buf.Len()) > max {
		return fmt.Errorf("%w: a document larger than %d MiB (save smaller pages: $top)", ErrNotGraph, max>>20)
	}
	v, err := p.ParseBytes(buf.Bytes())
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNotGraph, jsonReason(buf.Bytes()))
	}
	return handleDoc(v, 0, buf.Bytes(), fn)
}

// lineReader reads lines into one reused buffer.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
}

// readLine reads one line (without its end), at most max bytes. The line
// is valid until the next call (fastjson copies what it parses).
func (lr *lineReader) readLine(max int64) ([]byte, error) {
	br, out := lr.br, lr.buf[:0]
	defer func() { lr.buf = out[:0] }()
	for {
		frag, err := br.ReadSlice('\n')
		if int64(len(out)+len(frag)) > max+1 {
			return nil, fmt.Errorf("%w: a line larger than %d MiB", ErrNotGraph, max>>20)
		}
		out = append(out, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		out = bytes.TrimRight(out, "\r\n")
		return out, err
	}
}

func handleDoc(v *fastjson.Value, line int, raw []byte, fn func(Doc) error) error {
	d := Doc{Line: line, InvalidUTF8: !utf8.Valid(raw)}
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("%w: %s: a JSON %s, not a Graph list page nor a resource object", ErrNotGraph, d.where(), v.Type())
	}
	val := v.Get("value")
	switch {
	case val == nil && v.Get("error") != nil:
		return fmt.Errorf("%w: %s: a Graph error response, not a list page (the request that saved it failed)", ErrNotGraph, d.where())
	case val == nil:
		d.Items = []*fastjson.Value{v}
	case val.Type() != fastjson.TypeArray:
		return fmt.Errorf("%w: %s: \"value\" is a JSON %s, not the array of a Graph list page", ErrNotGraph, d.where(), val.Type())
	default:
		d.Page = true
		d.Items, _ = val.Array()
		d.Context = str(v, "@odata.context")
	}
	return fn(d)
}

// jsonReason describes why b is not JSON without quoting it.
func jsonReason(b []byte) string {
	var raw json.RawMessage
	err := json.Unmarshal(b, &raw)
	var se *json.SyntaxError
	switch {
	case err != nil && strings.Contains(err.Error(), "unexpected end"):
		return "JSON cut short"
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	return "JSON that cannot be parsed (nested too deep?)"
}

// str returns the string at the path of keys, "" when it is absent or not
// a string; invalid UTF-8 is replaced.
func str(v *fastjson.Value, keys ...string) string {
	x := v.Get(keys...)
	if x == nil || x.Type() != fastjson.TypeString {
		return ""
	}
	b := x.GetStringBytes()
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// array returns the array at the path of keys (nil when absent or not one).
func array(v *fastjson.Value, keys ...string) []*fastjson.Value {
	x := v.Get(keys...)
	if x == nil || x.Type() != fastjson.TypeArray {
		return nil
	}
	a, _ := x.Array()
	return a
}

// present reports whether the path exists and is not null.
func present(v *fastjson.Value, keys ...string) bool {
	x := v.Get(keys...)
	return x != nil && x.Type() != fastjson.TypeNull
}
