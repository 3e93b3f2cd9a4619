package mail

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kind is the format of one input file.
type Kind int

const (
	KindMbox Kind = iota // many messages, "From " separated
	KindFile             // one message per file (.eml, a Maildir entry)
)

// Input is one file to read.
type Input struct {
	Path string
	Kind Kind
	Size int64
}

// Inputs expands the command-line paths into files, in a stable order:
//   - a regular file is one message when it ends in ".eml" and an mbox
//     otherwise;
//   - a directory is walked recursively: a directory holding "cur" or "new"
//     is a Maildir (every regular file in cur/ and new/ is one message;
//     tmp/ is skipped, those deliveries are unfinished), "*.eml" files are
//     one message each, "*.mbox" files are mboxes, other files are ignored
//     (and counted in the returned number).
//
// Directories are walked in lexical order (filepath.WalkDir), so the same
// paths always give the same order; Maildir++ sub-folders (".Sent/cur")
// are found like any other Maildir.
func Inputs(paths []string) (inputs []Input, ignored int, err error) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, 0, fmt.Errorf("input %s: %w", p, err)
		}
		if !st.IsDir() {
			k := KindMbox
			if strings.EqualFold(filepath.Ext(p), ".eml") {
				k = KindFile
			}
			inputs = append(inputs, Input{Path: p, Kind: k, Size: st.Size()})
			continue
		}
		n, err := walkDir(p, &inputs)
		if err != nil {
			return nil, 0, err
		}
		ignored += n
	}
	return inputs, ignored, nil
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

func walkDir(root string, out *[]Input) (ignored int, err error) {
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", path, err)
		}
		if d.IsDir() {
			if d.Name() == "tmp" && isMaildir(filepath.Dir(path)) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		parent := filepath.Dir(path)
		switch base := filepath.Base(parent); {
		case (base == "cur" || base == "new") && isMaildir(filepath.Dir(parent)):
			*out = append(*out, Input{Path: path, Kind: KindFile, Size: info.Size()})
		case strings.EqualFold(filepath.Ext(path), ".eml"):
			*out = append(*out, Input{Path: path, Kind: KindFile, Size: info.Size()})
		case strings.EqualFold(filepath.Ext(path), ".mbox"):
			*out = append(*out, Input{Path: path, Kind: KindMbox, Size: info.Size()})
		default:
			ignored++
		}
		return nil
	})
	return ignored, err
}

// Raw is one message's raw bytes as a stream, and where it came from (for
// progress and counted skips: a file and an ordinal, never a header).
type Raw struct {
	Body io.Reader
	Path string
	N    int // 1-based message number within the file
}

// Each streams every message of in to fn. Reading is sequential and bounded
// by the mbox line buffer; fn must consume Body before it returns if it
// wants it (the rest is skipped). The error is a read error of the file;
// the bytes skipped before an mbox's first separator are reported through
// garbage.
func Each(in Input, wrap func(io.Reader) io.Reader, fn func(Raw) error) (garbage int64, err error) {
	f, err := os.Open(in.Path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", in.Path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if wrap != nil {
		r = wrap(r)
	}
	if in.Kind == KindFile {
		return 0, fn(Raw{Body: r, Path: in.Path, N: 1})
	}
	mr := NewMboxReader(r)
	for n := 1; ; n++ {
		body, err := mr.Next()
		if errors.Is(err, io.EOF) {
			return mr.Garbage(), nil
		}
		if err != nil {
			return mr.Garbage(), fmt.Errorf("read %s: %w", in.Path, err)
		}
		if err := fn(Raw{Body: body, Path: in.Path, N: n}); err != nil {
			return mr.Garbage(), err
		}
	}
}
