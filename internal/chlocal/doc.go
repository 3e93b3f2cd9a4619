// Package chlocal runs a real ClickHouse 26.7 server on loopback from
// libchdb.so, for `commpulse demo` and for integration tests, on machines
// without Docker. Production runs the official server (>= 25.8).
//
// # Pieces
//
//   - EnsureLib finds or fetches libchdb.so (npm package
//     @chdb/lib-linux-x64-gnu, pinned to LibVersion, cached per version).
//   - Start runs the engine and returns a Server; clients use Addr (native
//     protocol) or HTTPAddr.
//   - Stop, Kill and Restart simulate outages on a stable address; Close ends
//     everything.
//   - Package chtest wraps this for the tests of other packages.
//
// # Why a child process
//
// The engine is started by calling chdb_query_cmdline (through purego, no
// cgo) with a clickhouse-local command line that starts the TCP and HTTP
// listeners and then blocks reading a fifo in the data directory; opening the
// fifo for writing and closing it ends the call, and with it the server.
// That call cannot be repeated in one process: a second call after a clean
// stop fails with "EventNotifier is initialized twice ... (LOGICAL_ERROR)".
// Outage and chaos tests need a restart, so the engine runs in a child
// process: a re-exec of os.Executable with an environment marker, which this
// package's init recognises (so every binary and test binary that links the
// package can serve as the child; MaybeRunChild exists to make that explicit
// in a main). The child is also a blast wall: the embedded engine aborts its
// process (SIGABRT, "The server is shutting down due to a fatal error") on
// some client faults, and that must not take a test binary or the demo down.
// The child stops cleanly when its stdin reaches EOF, which is how Stop asks
// and what happens when the parent dies; it runs in its own process group so
// a terminal's Ctrl-C reaches only the parent.
//
// Measured on the 2-core dev machine: Start 0.9-1.2 s with a warm page cache
// (dlopen of the 566 MB library 0.3 s, /ping 0.2-0.9 s after), Restart
// 0.8-1.1 s, clean Stop 15-70 ms; engine RSS 212 MB idle. A cold fetch
// (npm pack 178 MB, extract, sha256) took 38 s; later calls stat the cache.
//
// # The shield proxy
//
// Clients never talk to the engine directly. Two proxies (native, HTTP) own
// the public addresses and forward to private engine ports, which change at
// every restart. They exist for two reasons. First, a client connection that
// is reset made the engine abort (3 of 20 stress runs); the proxy only ever
// closes toward the engine with an orderly FIN and drains the engine's
// output to EOF, so a reset never reaches it. Second, the address must
// survive restarts: while the engine is down the proxies accept and close
// connections at once, so a driver fails its handshake in milliseconds
// instead of hanging, and reconnects to the same address afterwards.
//
// The proxy cannot hide a client that dies halfway through sending a
// protocol packet: the engine reads a truncated packet and aborts. Config.
// AutoRestart restarts the engine after such an unrequested exit (chtest
// turns it on); Server.Crashes counts them.
//
// Loopback only: this is a test and demo server. Without Config.ConfigFile
// there is no authentication (one passwordless default user); with a
// config file holding XML users (store.AccessModel.UsersXML writes one)
// their passwords and grants are enforced over both protocols. SQL-driven
// access control (CREATE USER, GRANT) cannot be enabled on the embedded
// engine. A wrong password over the native protocol aborts the engine
// (uncaught AUTHENTICATION_FAILED): try wrong credentials over HTTP, where
// they get a clean 403.
package chlocal
