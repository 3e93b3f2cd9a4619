package chlocal

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

const (
	// dialTimeout bounds the proxy's connect to the engine on loopback.
	dialTimeout = 2 * time.Second
	// drainTimeout bounds how long the proxy keeps reading from the engine
	// after the client went away and the proxy sent FIN: long enough for a
	// running query to finish and notice, short enough not to leak forever.
	drainTimeout = 2 * time.Minute
)

// shield is a TCP proxy in front of one engine port. It exists because the
// embedded server aborts its whole process when a client connection is reset
// (exit 134, "Code: 210 ... Connection reset by peer"; 3 of 20 stress runs).
// Toward the engine the proxy only ever closes with an orderly FIN
// (CloseWrite) and then reads the engine's output to EOF, so the engine never
// sees a reset, whatever the client did. It also gives the server a stable
// address across engine restarts: while the engine is down (upstream empty)
// new clients are accepted and closed at once, so a driver gets an immediate
// EOF on its handshake instead of hanging.
type shield struct {
	ln   net.Listener
	logf func(string, ...any)

	mu       sync.Mutex
	upstream string
	pairs    map[net.Conn]struct{} // client side of each live pair
	closed   bool
	wg       sync.WaitGroup
}

func newShield(addr string, logf func(string, ...any)) (*shield, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chlocal: proxy listen %s: %w", addr, err)
	}
	s := &shield{ln: ln, logf: logf, pairs: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *shield) Addr() string { return s.ln.Addr().String() }

// setUpstream points new connections at addr; "" refuses them. Live pairs are
// not touched (see closeClients).
func (s *shield) setUpstream(addr string) {
	s.mu.Lock()
	s.upstream = addr
	s.mu.Unlock()
}

// closeClients closes the client side of every live pair; each pair then
// sends FIN to the engine and drains it.
func (s *shield) closeClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.pairs {
		_ = c.Close()
	}
}

// live reports the number of open pairs.
func (s *shield) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pairs)
}

// close stops accepting, closes all clients and waits for the pairs to end.
func (s *shield) close() {
	s.mu.Lock()
	s.closed = true
	s.upstream = ""
	s.mu.Unlock()
	_ = s.ln.Close()
	s.closeClients()
	s.wg.Wait()
}

func (s *shield) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logf("chlocal: proxy accept: %v", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		up, closed := s.upstream, s.closed
		if up == "" || closed {
			s.mu.Unlock()
			_ = c.Close()
			continue
		}
		s.pairs[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.pipe(c, up)
			s.mu.Lock()
			delete(s.pairs, c)
			s.mu.Unlock()
		}()
	}
}

// pipe connects client to the engine at up until both sides are done.
func (s *shield) pipe(client net.Conn, up string) {
	defer client.Close()
	uc, err := net.DialTimeout("tcp", up, dialTimeout)
	if err != nil {
		return // engine went away between the check and the dial: client sees EOF
	}
	server := uc.(*net.TCPConn)
	defer server.Close() // only after EOF from the engine or drainTimeout: a FIN, not an RST

	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		_, _ = io.Copy(server, client) // ends on client EOF, reset, or our Close of client
		_ = server.CloseWrite()        // orderly FIN toward the engine
		_ = server.SetReadDeadline(time.Now().Add(drainTimeout))
	}()

	// Engine -> client. Keep reading the engine to EOF even after the client
	// is gone: closing a socket with unread input makes the kernel send RST.
	buf := make([]byte, 64<<10)
	clientOK := true
	for {
		n, rerr := server.Read(buf)
		if n > 0 && clientOK {
			if _, werr := client.Write(buf[:n]); werr != nil {
				clientOK = false
				_ = client.Close() // ends the copy above, which sends FIN
			}
		}
		if rerr != nil {
			break
		}
	}
	_ = client.Close()
	<-upDone
}
