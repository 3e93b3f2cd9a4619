package mail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"regexp"
)

// MboxReader splits an mbox stream into messages without holding more than
// one line (at most its buffer size) in memory: each message is handed out
// as a stream that ends at the next separator line.
//
// Separators are "From " lines (mboxo, mboxrd and mboxcl all use them) that
// start the stream or follow an empty line, and look like a real separator:
// "From <sender> <date>" with a time of day in it. A body line that merely
// starts with "From " is not a separator: "From the team's side, ..." has
// no time in it. Lines of the form ">From ", ">>From ", ... lose one '>'
// (mboxrd unquoting; mboxo quoted only "From " and reads the same way).
//
// Bytes before the first separator (a file that is not an mbox, or garbage
// at its start) are skipped and reported by Garbage. A message cut short
// at the end of a truncated file ends where the data ends: the MIME parser
// sees a truncated message and rejects it if it is incomplete.
type MboxReader struct {
	br        *bufio.Reader
	started   bool  // the first separator was seen
	done      bool  // the underlying reader is exhausted
	err       error // sticky read error other than EOF
	cur       *mboxMessage
	garbage   int64
	prevEmpty bool
}

// NewMboxReader reads an mbox from r.
func NewMboxReader(r io.Reader) *MboxReader {
	return &MboxReader{br: bufio.NewReaderSize(r, 64<<10), prevEmpty: true}
}

// Garbage returns the number of bytes skipped before the first separator.
func (m *MboxReader) Garbage() int64 { return m.garbage }

// separator matches the rest of a From_ line after "From ": a sender token
// and a date with a time of day (asctime: "Mon Jan  2 15:04:05 2006").
var separator = regexp.MustCompile(`^From \S+ .*\b\d{1,2}:\d\d(:\d\d)?\b`)

// Next returns the next message. The reader is valid until the next call of
// Next; an unread rest is skipped. It returns io.EOF after the last message.
func (m *MboxReader) Next() (io.Reader, error) {
	if m.cur != nil {
		if _, err := io.Copy(io.Discard, m.cur); err != nil {
			return nil, err
		}
		m.cur = nil
	}
	if m.err != nil {
		return nil, m.err
	}
	if !m.started {
		// Skip to the first separator.
		for {
			line, full, err := m.readLine()
			if len(line) > 0 {
				if full && m.prevEmpty && isSeparator(line) {
					m.started = true
					m.skipRestOfLine(line)
					break
				}
				m.garbage += int64(len(line))
				m.noteLine(line)
			}
			if err != nil {
				return nil, m.stop(err)
			}
		}
	} else if m.done {
		return nil, io.EOF
	}
	m.cur = &mboxMessage{m: m, atStart: true}
	return m.cur, nil
}

func (m *MboxReader) stop(err error) error {
	m.done = true
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	m.err = err
	return err
}

// readLine returns the next line or, for a line longer than the buffer, its
// next chunk (full false when the chunk does not end the line). The slice
// is valid until the next read.
func (m *MboxReader) readLine() (line []byte, full bool, err error) {
	line, err = m.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return line, false, nil
	}
	// A full line: at least the head of one begins with "From ". For a
	// chunk (ErrBufferFull) full is false but the chunk's head may still
	// be a separator: isSeparator looks at the head only.
	return line, true, err
}

// noteLine remembers whether the line just passed was empty, for the rule
// that a separator follows an empty line.
func (m *MboxReader) noteLine(line []byte) {
	if line[len(line)-1] != '\n' {
		m.prevEmpty = false // a chunk of a long line; its end decides later
		return
	}
	m.prevEmpty = len(bytes.TrimRight(line, "\r\n")) == 0
}

func (m *MboxReader) skipRestOfLine(line []byte) {
	for line[len(line)-1] != '\n' {
		var err error
		line, _, err = m.readLine()
		if err != nil {
			m.stop(err)
			return
		}
	}
	m.prevEmpty = false
}

func isSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("From ")) {
		return false
	}
	return separator.Match(bytes.TrimRight(line, "\r\n"))
}

// mboxMessage is the stream of one message.
type mboxMessage struct {
	m       *MboxReader
	rem     []byte // unread part of the current line (owned copy)
	buf     []byte
	atStart bool // the next read starts a line
	eof     bool
}

func (r *mboxMessage) Read(p []byte) (int, error) {
	for len(r.rem) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		m := r.m
		if m.done {
			r.eof = true
			if m.err != nil {
				return 0, m.err
			}
			return 0, io.EOF
		}
		line, _, err := m.readLine()
		if len(line) > 0 {
			lineStart := r.atStart
			r.atStart = line[len(line)-1] == '\n'
			if lineStart && m.prevEmpty && isSeparator(line) {
				m.skipRestOfLine(line)
				r.eof = true
				return 0, io.EOF
			}
			if lineStart {
				m.noteLine(line)
			} else if r.atStart {
				m.prevEmpty = false
			}
			if lineStart && len(line) > 1 && line[0] == '>' {
				// mboxrd: ">From " with any number of '>' loses one.
				i := 0
				for i < len(line) && line[i] == '>' {
					i++
				}
				if bytes.HasPrefix(line[i:], []byte("From ")) {
					line = line[1:]
				}
			}
			r.buf = append(r.buf[:0], line...)
			r.rem = r.buf
		}
		if err != nil {
			m.stop(err)
		}
	}
	n := copy(p, r.rem)
	r.rem = r.rem[n:]
	return n, nil
}
