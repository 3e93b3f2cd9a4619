package chlocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// defaultStartTimeout applies when Start's or Restart's context has no
	// deadline. A warm start takes about a second; a cold page cache more.
	defaultStartTimeout = 60 * time.Second
	// defaultStopTimeout applies when Stop's context has no deadline; after
	// it the engine is killed.
	defaultStopTimeout = 30 * time.Second
	// startAttempts: the engine's ports are picked free by the parent and
	// could be taken before the child binds them; a child that exits before
	// it is ready is retried on fresh ports.
	startAttempts = 3
	// tailLines of the engine's output are kept for error messages.
	tailLines = 20
)

// Config configures Start.
type Config struct {
	// LibPath is libchdb.so. Empty: EnsureLib(ctx, DefaultCacheDir(), Progress).
	LibPath string
	// Progress receives EnsureLib's fetch progress when LibPath is empty.
	Progress io.Writer
	// DataDir holds the databases; it survives Stop, Kill and Restart. Empty:
	// a temporary directory that Close removes.
	DataDir string
	// TCPPort and HTTPPort are the loopback ports of the shielded native and
	// HTTP endpoints that clients use; 0 picks free ports. The engine itself
	// listens on other, private ports.
	TCPPort, HTTPPort int
	// Logf receives lifecycle messages and the engine's output; nil discards.
	Logf func(format string, args ...any)
	// AutoRestart restarts the engine when it exits without being asked to
	// (Stop and Kill are asked). The embedded engine aborts its process on
	// some client faults the proxy cannot hide, notably a client that dies
	// halfway through sending a packet; shared test servers want this on,
	// outage tests rely on Stop/Kill, which it never undoes.
	AutoRestart bool
	// ConfigFile is a ClickHouse server configuration file passed to the
	// engine as --config-file, e.g. one with user_directories/users_xml and
	// <users> so that access control is enforced (store.UsersXML writes
	// one). Empty: no file, a single passwordless default user. The engine
	// reads it at every start, so a change takes effect at Restart. The
	// command line's --path, --listen_host and ports win over the file's.
	ConfigFile string
}

// Server is a ClickHouse server running in a child process, behind two
// shield proxies whose addresses stay the same across Stop, Kill and Restart.
// Its methods are safe for concurrent use.
type Server struct {
	lib     string
	dataDir string
	ownDir  bool
	logf    func(string, ...any)
	auto    bool
	config  string
	native  *shield
	web     *shield

	mu      sync.Mutex // serialises lifecycle changes
	eng     *engineProc
	closed  bool
	crashes int
}

// engineProc is one run of the child process.
type engineProc struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	done     chan struct{} // closed when the process has exited
	err      error         // Wait's result, valid after done
	tail     *tail
	stopping chan struct{} // closed when the exit is expected
}

// Start fetches the engine if needed, starts the proxies and the engine
// process, and returns when the engine answers /ping and accepts native
// connections. Without a deadline on ctx it gives up after 60 s.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if os.Getenv(envChild) != "" {
		return nil, errors.New("chlocal: Start called inside the engine child process")
	}
	lib := cfg.LibPath
	if lib == "" {
		var err error
		if lib, err = EnsureLib(ctx, DefaultCacheDir(), cfg.Progress); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(lib); err != nil {
		return nil, fmt.Errorf("chlocal: engine library: %w", err)
	}
	s := &Server{lib: lib, dataDir: cfg.DataDir, logf: logf, auto: cfg.AutoRestart}
	if cfg.ConfigFile != "" {
		abs, err := filepath.Abs(cfg.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("chlocal: config file: %w", err)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("chlocal: config file: %w", err)
		}
		s.config = abs
	}
	if s.dataDir == "" {
		d, err := os.MkdirTemp("", "chlocal-")
		if err != nil {
			return nil, fmt.Errorf("chlocal: data dir: %w", err)
		}
		s.dataDir, s.ownDir = d, true
	} else if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("chlocal: data dir: %w", err)
	}
	var err error
	if s.native, err = newShield(net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.TCPPort)), logf); err != nil {
		s.cleanup()
		return nil, err
	}
	if s.web, err = newShield(net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.HTTPPort)), logf); err != nil {
		s.cleanup()
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.startLocked(ctx); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// Addr is host:port of the shielded native-protocol endpoint (clickhouse-go
// Options.Addr). It is the same for the Server's whole life.
func (s *Server) Addr() string { return s.native.Addr() }

// HTTPAddr is host:port of the shielded HTTP endpoint.
func (s *Server) HTTPAddr() string { return s.web.Addr() }

// DataDir is the directory holding the server's data.
func (s *Server) DataDir() string { return s.dataDir }

// Running reports whether the engine process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng == nil {
		return false
	}
	select {
	case <-s.eng.done:
		return false
	default:
		return true
	}
}

// PID is the engine process id, 0 while it is down.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng == nil {
		return 0
	}
	return s.eng.cmd.Process.Pid
}

// Stop shuts the engine down cleanly and keeps the addresses: new connections
// are closed at once until Restart; open ones are closed. It kills the engine
// when ctx expires first (30 s without a deadline). Stopping a stopped
// server is a no-op.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked(ctx)
}

// Kill ends the engine with SIGKILL, like a crash or an OOM kill, and waits for
// it to exit. Data written before survives. Addresses are kept.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.eng
	if e == nil {
		return nil
	}
	s.down(e)
	if err := e.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("chlocal: kill engine: %w", err)
	}
	<-e.done
	s.eng = nil
	s.logf("chlocal: engine killed")
	return nil
}

// Restart stops the engine if it runs and starts it again on the same data
// directory; clients reconnect to the same Addr.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("chlocal: restart of a closed server")
	}
	if err := s.stopLocked(ctx); err != nil {
		return err
	}
	return s.startLocked(ctx)
}

// Close stops the engine, releases the addresses and removes the data
// directory if Start created it. Stop's timeout rules apply.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stopLocked(ctx)
	s.cleanup()
	return err
}

func (s *Server) cleanup() {
	if s.native != nil {
		s.native.close()
	}
	if s.web != nil {
		s.web.close()
	}
	if s.ownDir {
		_ = os.RemoveAll(s.dataDir)
	}
}

// down takes the proxies off engine e and closes their clients.
func (s *Server) down(e *engineProc) {
	select {
	case <-e.stopping:
	default:
		close(e.stopping)
	}
	s.native.setUpstream("")
	s.web.setUpstream("")
	s.native.closeClients()
	s.web.closeClients()
}

func (s *Server) stopLocked(ctx context.Context) error {
	e := s.eng
	if e == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStopTimeout)
		defer cancel()
	}
	start := time.Now()
	// Clients first, so the engine sees orderly FINs, not connections cut by
	// its own shutdown; then EOF on the child's stdin asks it to stop.
	s.down(e)
	_ = e.stdin.Close()
	select {
	case <-e.done:
	case <-ctx.Done():
		_ = e.cmd.Process.Kill()
		<-e.done
		s.eng = nil
		return fmt.Errorf("chlocal: engine did not stop in time, killed: %w", ctx.Err())
	}
	s.eng = nil
	if e.err != nil {
		return fmt.Errorf("chlocal: engine exit: %w%s", e.err, e.tail.suffix())
	}
	s.logf("chlocal: engine stopped in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func (s *Server) startLocked(ctx context.Context) error {
	if s.eng != nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var e *engineProc
		var tcpAddr string
		start := time.Now()
		e, tcpAddr, err = s.spawn(ctx)
		if err == nil {
			s.eng = e
			s.native.setUpstream(tcpAddr)
			s.web.setUpstream(e.httpAddr())
			s.logf("chlocal: ClickHouse %s ready in %s (pid %d, native %s, http %s, data %s)",
				shortVersion(), time.Since(start).Round(time.Millisecond), e.cmd.Process.Pid, s.Addr(), s.HTTPAddr(), s.dataDir)
			go s.watch(e)
			return nil
		}
		if ctx.Err() != nil {
			break
		}
		s.logf("chlocal: engine start attempt %d: %v", attempt, err)
	}
	return err
}

// watch logs an engine exit that nobody asked for and takes the proxies
// down, so clients fail fast until Restart.
func (s *Server) watch(e *engineProc) {
	<-e.done
	select {
	case <-e.stopping:
		return
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng != e {
		return
	}
	s.down(e)
	s.eng = nil
	s.logf("chlocal: engine exited unexpectedly: %v%s", e.err, e.tail.suffix())
	s.crashes++
	if !s.auto || s.closed {
		return
	}
	if err := s.startLocked(context.Background()); err != nil {
		s.logf("chlocal: automatic restart failed, engine stays down until Restart: %v", err)
	}
}

// Crashes counts the engine exits that were not asked for by Stop or Kill.
func (s *Server) Crashes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crashes
}

// spawn starts one engine process on fresh private ports and waits until it
// is ready. On failure the process is gone.
func (s *Server) spawn(ctx context.Context) (*engineProc, string, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("chlocal: own executable for the engine child: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		envChild+"="+childMarker,
		envChildLib+"="+s.lib,
		envChildDir+"="+s.dataDir,
		envChildTCP+"="+strconv.Itoa(ports[0]),
		envChildWeb+"="+strconv.Itoa(ports[1]),
		envChildConfig+"="+s.config,
	)
	cmd.Dir = s.dataDir
	// Own process group: a terminal's Ctrl-C reaches the parent only, which
	// then stops the engine cleanly. If the parent dies, the child's stdin
	// reaches EOF and it stops by itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", fmt.Errorf("chlocal: engine stdin: %w", err)
	}
	e := &engineProc{cmd: cmd, stdin: stdin, done: make(chan struct{}), tail: &tail{}, stopping: make(chan struct{})}
	out := &lineWriter{logf: s.logf, tail: e.tail}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("chlocal: start engine process: %w", err)
	}
	go func() {
		e.err = cmd.Wait()
		out.flush()
		close(e.done)
	}()

	tcpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	httpURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])) + "/ping"
	if err := waitReady(ctx, e, httpURL, tcpAddr); err != nil {
		close(e.stopping)
		_ = cmd.Process.Kill()
		<-e.done
		return nil, "", err
	}
	return e, tcpAddr, nil
}

func (e *engineProc) httpAddr() string {
	for _, kv := range e.cmd.Env {
		if v, ok := strings.CutPrefix(kv, envChildWeb+"="); ok {
			return net.JoinHostPort("127.0.0.1", v)
		}
	}
	return ""
}

// waitReady polls /ping, then checks that the native port accepts.
func waitReady(ctx context.Context, e *engineProc, pingURL, tcpAddr string) error {
	// No keep-alive: an idle probe connection straight to the engine would
	// hold up its clean shutdown (measured: Stop took 5 s instead of 15 ms).
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-e.done:
			return fmt.Errorf("chlocal: engine exited during start: %v%s", e.err, e.tail.suffix())
		case <-ctx.Done():
			return fmt.Errorf("chlocal: engine not ready (GET %s): %w%s", pingURL, ctx.Err(), e.tail.suffix())
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, pingURL, nil)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		c, err := net.DialTimeout("tcp", tcpAddr, time.Second)
		if err != nil {
			continue
		}
		// Close after a FIN from us with nothing unread: no reset reaches
		// the engine.
		_ = c.Close()
		return nil
	}
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("chlocal: free port: %w", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail keeps the last lines of the engine's output for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

// suffix renders the kept lines as an error-message suffix.
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return "; engine output:\n" + strings.Join(t.lines, "\n")
}

// lineWriter splits the engine's output into lines for Logf and the tail.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	logf func(string, ...any)
	tail *tail
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

func (w *lineWriter) emit(line string) {
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return
	}
	w.tail.add(line)
	w.logf("clickhouse: %s", line)
}
