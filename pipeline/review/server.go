package review

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"commpulse/pipeline/health"
)

// Server serves the review API on a listener.
type Server struct {
	srv           *http.Server
	ln            net.Listener
	cert, keyFile string
}

// Listen binds cfg.Addr (validated: the token file read) for h.
func Listen(cfg ServerConfig, h http.Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("review API: listen on %s: %w", cfg.Addr, err)
	}
	return &Server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		ln: ln, cert: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile,
	}, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// TLS reports whether the server serves HTTPS.
func (s *Server) TLS() bool { return s.cert != "" }

// Serve serves until ctx is done, then shuts down gracefully: requests in
// flight get up to 10 s to finish.
func (s *Server) Serve(ctx context.Context) error {
	serve := func() error { return s.srv.Serve(s.ln) }
	if s.cert != "" {
		serve = func() error { return s.srv.ServeTLS(s.ln, s.cert, s.keyFile) }
	}
	if err := health.ServeUntil(ctx, s.srv, serve, 10*time.Second); err != nil {
		return fmt.Errorf("review API: %w", err)
	}
	return nil
}
