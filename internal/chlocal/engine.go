package chlocal

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ebitengine/purego"
)

// engine is libchdb.so loaded into this process with purego (no cgo). The
// signatures follow chdb.h:
//
//	chdb_result *chdb_query_cmdline(int argc, char **argv);
//	const char  *chdb_result_error(chdb_result *result);
//	void         chdb_destroy_query_result(chdb_result *result);
type engine struct {
	queryCmdline  func(argc int32, argv **byte) uintptr
	resultError   func(result uintptr) *byte
	destroyResult func(result uintptr)
}

// loadEngine dlopens the library and binds the three functions the server
// needs. RTLD_GLOBAL because ClickHouse resolves some of its own symbols
// dynamically. Dlopen takes ~0.3 s (566 MB image, mostly page-cache mapped).
func loadEngine(path string) (*engine, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("chlocal: dlopen %s: %w", path, err)
	}
	e := &engine{}
	for _, b := range []struct {
		fn   any
		name string
	}{
		{&e.queryCmdline, "chdb_query_cmdline"},
		{&e.resultError, "chdb_result_error"},
		{&e.destroyResult, "chdb_destroy_query_result"},
	} {
		sym, err := purego.Dlsym(h, b.name)
		if err != nil {
			return nil, fmt.Errorf("chlocal: %s in %s: %w", b.name, path, err)
		}
		purego.RegisterFunc(b.fn, sym)
	}
	return e, nil
}

// run calls chdb_query_cmdline with args (args[0] is the program name) and
// blocks until the query sequence finishes. It pins the goroutine to its OS
// thread: ClickHouse keeps thread-local state for the duration of the call.
func (e *engine) run(args []string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	// C strings in Go memory: the Go heap does not move, and KeepAlive below
	// holds everything until the call has returned.
	bufs := make([][]byte, len(args))
	argv := make([]*byte, len(args)+1)
	for i, a := range args {
		bufs[i] = append([]byte(a), 0)
		argv[i] = &bufs[i][0]
	}
	res := e.queryCmdline(int32(len(args)), &argv[0])
	runtime.KeepAlive(bufs)
	runtime.KeepAlive(argv)
	if res == 0 {
		return fmt.Errorf("chlocal: chdb_query_cmdline returned no result")
	}
	defer e.destroyResult(res)
	if msg := e.resultError(res); msg != nil {
		return fmt.Errorf("chlocal: clickhouse: %s", goString(msg))
	}
	return nil
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
