package chlocal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Environment of the engine child process. envChild marks the child; the
// others carry its configuration (argv is left alone because a test binary's
// flags would be in the way).
const (
	envChild    = "COMMPULSE_CHLOCAL_CHILD"
	envChildLib = "COMMPULSE_CHLOCAL_LIB"
	envChildDir = "COMMPULSE_CHLOCAL_DATA"
	envChildTCP = "COMMPULSE_CHLOCAL_TCP_PORT"
	envChildWeb = "COMMPULSE_CHLOCAL_HTTP_PORT"
	// envChildConfig is the absolute path of Config.ConfigFile, or empty.
	envChildConfig = "COMMPULSE_CHLOCAL_CONFIG"

	childMarker = "engine-v1"

	// stopFifo is the named pipe, inside the data directory, whose reader
	// keeps the server alive; see serverArgs.
	stopFifo = ".stop.fifo"

	// childStopGrace bounds the clean shutdown that follows the parent's
	// going away.
	childStopGrace = 30 * time.Second
)

func init() {
	// The engine child is a re-exec of the parent's own executable. Running
	// it from init (rather than only from an explicit call in main) means any
	// binary that links this package, including every test binary, works as
	// the child without cooperation, and a forgotten call can never make a
	// child run the parent's main or tests again (a fork loop).
	MaybeRunChild()
}

// MaybeRunChild runs the ClickHouse engine and exits when this process was
// started by Start as the engine child; otherwise it returns at once. The
// package's init already calls it, so calling it again first thing in main or
// TestMain only makes the re-exec visible to readers.
func MaybeRunChild() {
	if os.Getenv(envChild) != childMarker {
		return
	}
	if err := runChild(); err != nil {
		fmt.Fprintf(os.Stderr, "chlocal engine: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runChild is the body of the engine process. It serves until standard input
// reaches EOF (the parent closed the pipe, or died), then stops the server
// cleanly through the fifo.
func runChild() error {
	lib, dir := os.Getenv(envChildLib), os.Getenv(envChildDir)
	tcpPort, err1 := strconv.Atoi(os.Getenv(envChildTCP))
	httpPort, err2 := strconv.Atoi(os.Getenv(envChildWeb))
	if lib == "" || dir == "" || err1 != nil || err2 != nil {
		return fmt.Errorf("incomplete child environment (lib=%q dir=%q tcp=%v http=%v)", lib, dir, err1, err2)
	}
	fifo := filepath.Join(dir, stopFifo)
	_ = os.Remove(fifo) // left over after a kill
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("mkfifo %s: %w", fifo, err)
	}
	eng, err := loadEngine(lib)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- eng.run(serverArgs(dir, os.Getenv(envChildConfig), fifo, tcpPort, httpPort)) }()

	parentGone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(parentGone)
	}()

	select {
	case err := <-done:
		if err != nil {
			return err
		}
		return errors.New("server stopped by itself")
	case <-parentGone:
	}
	if finished, err := releaseFifo(fifo, done); finished || err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-time.After(childStopGrace):
		return fmt.Errorf("server did not stop within %s", childStopGrace)
	}
}

// serverArgs is the clickhouse-local command line that turns the call into a
// server: start the listeners, then block reading the fifo, then stop the
// listeners. The call returns when a writer opens and closes the fifo.
// config, when not empty, is passed as --config-file before the other
// options; the queries run as the engine's own default user, so a config
// file that defines users must keep a default user (store.UsersXML does).
func serverArgs(dir, config, fifo string, tcpPort, httpPort int) []string {
	q := "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
		"SELECT count() FROM file('" + sqlEscape(fifo) + "', 'LineAsString') FORMAT Null; " +
		"SYSTEM STOP LISTEN TCP; SYSTEM STOP LISTEN HTTP"
	args := []string{"clickhouse"}
	if config != "" {
		args = append(args, "--config-file="+config)
	}
	return append(args,
		"--path="+dir,
		"--listen_host=127.0.0.1",
		"--tcp_port="+strconv.Itoa(tcpPort),
		"--http_port="+strconv.Itoa(httpPort),
		"--multiquery",
		"--query="+q,
	)
}

func sqlEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// releaseFifo opens the fifo for writing and closes it, which gives the
// server's reader EOF. A non-blocking open fails with ENXIO while nobody reads
// yet (server still starting), so it retries until the server reads or ends.
// finished reports that the server ended meanwhile (err is then its result).
func releaseFifo(fifo string, done <-chan error) (finished bool, err error) {
	for {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return false, f.Close()
		}
		if !errors.Is(err, syscall.ENXIO) {
			return false, fmt.Errorf("open %s: %w", fifo, err)
		}
		select {
		case err := <-done:
			return true, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}
