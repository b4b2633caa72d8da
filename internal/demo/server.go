package demo

// One HTTP listener of the demo (plain or mutual TLS): serving, stopping
// gracefully, killing like a crash and restarting on the same address.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// server is one HTTP listener of the demo.
type server struct {
	name, addr string
	handler    http.Handler
	log        *slog.Logger
	tls        *tls.Config // mutual TLS, or nil for plain HTTP

	mu  sync.Mutex
	srv *http.Server
}

func (s *server) serve(l net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	if s.tls != nil {
		l = tls.NewListener(l, s.tls)
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", "component", s.name, "error", err)
		}
	}()
}

// start listens again on the server's address after stop.
func (s *server) start() error {
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("demo: restart %s on %s: %w", s.name, s.addr, err)
	}
	s.serve(l)
	return nil
}

// stop closes the listener and shuts the server down gracefully: requests
// in flight get two seconds to finish.
func (s *server) stop() error {
	srv := s.take()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close() // connections that stayed busy or never sent a request
	}
	return nil
}

// kill stops the server at once, closing every connection, like a crash.
func (s *server) kill() error {
	if srv := s.take(); srv != nil {
		srv.Close()
	}
	return nil
}

func (s *server) take() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.srv
	s.srv = nil
	return srv
}
