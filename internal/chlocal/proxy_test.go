package chlocal

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// upstream is a fake engine port: it records what each connection read
// until EOF and how the read ended.
type upstream struct {
	ln      net.Listener
	results chan upstreamResult
	reply   []byte // written to every connection after the first read
}

type upstreamResult struct {
	got      []byte
	readErr  error // nil: orderly EOF
	writeErr error
}

func newUpstream(t *testing.T, reply []byte) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln, results: make(chan upstreamResult, 16), reply: reply}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var r upstreamResult
				buf := make([]byte, 4)
				n, err := io.ReadFull(c, buf)
				r.got = append(r.got, buf[:n]...)
				if err == nil && len(u.reply) > 0 {
					_, r.writeErr = c.Write(u.reply)
				}
				rest, err := io.ReadAll(c)
				r.got = append(r.got, rest...)
				r.readErr = err
				u.results <- r
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return u
}

func TestShieldTurnsClientResetIntoFIN(t *testing.T) {
	cases := []struct {
		name  string
		reply int // bytes the engine sends back after the first 4 bytes
	}{
		{"idle engine", 0},
		{"engine replies more than socket buffers hold", 8 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, bytes.Repeat([]byte{'r'}, tc.reply))
			s, err := newShield("127.0.0.1:0", t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.close)
			s.setUpstream(up.ln.Addr().String())

			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte("helo")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let the bytes reach the engine
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close() // RST toward the proxy

			select {
			case r := <-up.results:
				if string(r.got) != "helo" {
					t.Errorf("engine read %q, want %q", r.got, "helo")
				}
				if r.readErr != nil {
					t.Errorf("engine saw %v, want an orderly EOF", r.readErr)
				}
				if r.writeErr != nil {
					t.Errorf("engine's reply failed with %v: the proxy stopped draining", r.writeErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("engine connection never ended")
			}
			waitFor(t, func() bool { return s.live() == 0 })
		})
	}
}

func TestShieldRefusesWhileDown(t *testing.T) {
	up := newUpstream(t, []byte("pong"))
	s, err := newShield("127.0.0.1:0", t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	addr := s.Addr()

	for _, step := range []struct {
		name   string
		target string
		want   string // "" = connection closed without data
	}{
		{"down before start", "", ""},
		{"up", up.ln.Addr().String(), "pong"},
		{"down again", "", ""},
	} {
		t.Run(step.name, func(t *testing.T) {
			s.setUpstream(step.target)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Write([]byte("ping"))
			buf := make([]byte, 4)
			n, err := io.ReadFull(c, buf)
			if step.want == "" {
				if n != 0 || !(errors.Is(err, io.EOF) || isReset(err)) {
					t.Fatalf("read %q, %v; want the connection closed at once", buf[:n], err)
				}
				return
			}
			if err != nil || string(buf) != step.want {
				t.Fatalf("read %q, %v; want %q", buf[:n], err, step.want)
			}
		})
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}
