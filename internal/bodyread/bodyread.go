// Package bodyread bounds how long a server waits for a request body, so
// that a client sending its body slowly (a "slow POST", or nothing at all
// after a Content-Length of 100000) cannot hold a connection and a
// goroutine for as long as it likes.
//
// net/http's ReadTimeout bounds the whole request from its first byte,
// which a proxy cannot size: a large upload needs long, a stalled one
// should be cut at once. A [Limits] does both: the deadline of every read is
// Idle from its start (no progress for that long ends the body), and never
// later than Total from the moment the body was wrapped. Deadlines are set
// through http.ResponseController, on HTTP/1 and HTTP/2 alike.
//
//	srv := &http.Server{Handler: bodyread.Handler(h, bodyread.Limits{Idle: 10 * time.Second, Total: time.Minute})}
//
// A read past a deadline fails with an error that matches [ErrTimeout]
// (errors.Is), and [Body.TimedOut] reports it; net/http then closes the
// connection after the answer. On HTTP/1 net/http also cancels the
// request's context then, so that a handler that reads the body through
// another (an http.Transport sending it upstream) may see only
// context.Canceled: it asks TimedOut.
//
// On HTTP/1 net/http reads, itself, what the handler leaves of a body:
// before it writes the answer and after the handler returns, to keep the
// connection. Those reads are bounded too (Idle from the latest read, or
// from Wrap), so that a handler refusing a stalled body answers without
// waiting for it. On HTTP/2, which needs no such reads, the deadline
// between two reads of the handler is only the Total one: a handler
// busy elsewhere (an upstream slow to take the body) does not cut the
// client. Once the body has been read to its end the deadline is cleared,
// so that the server's watch for the client closing the connection,
// while the handler still works, is not cut.
package bodyread

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Limits bound the reading of a request body. The zero value bounds
// nothing.
type Limits struct {
	// Idle is the longest wait for the next bytes of the body (0: no
	// bound).
	Idle time.Duration
	// Total is the longest time for the whole body, counted from Wrap
	// (0: no bound). Time the handler spends not reading counts too.
	Total time.Duration
}

// ErrTimeout is matched (errors.Is) by the error of a read that the
// deadline of Limits ended.
var ErrTimeout = errors.New("bodyread: the request body did not arrive in time")

// Handler returns h with every request body read under l (see Wrap).
func Handler(h http.Handler, l Limits) http.Handler {
	if l.Idle <= 0 && l.Total <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Wrap(w, r, l)
		h.ServeHTTP(w, r)
	})
}

// Wrap replaces r.Body with a *Body that reads under l's deadlines, and
// returns it. w must be the server's ResponseWriter or unwrap to it
// (Unwrap, as http.ResponseController needs); where deadlines are not
// supported, and for requests without a body, Wrap changes nothing and
// returns nil. Call it before the handler reads the body, in the
// handler's goroutine, and not for a request whose connection the handler
// takes over (Hijack): the deadline would stay on it.
func Wrap(w http.ResponseWriter, r *http.Request, l Limits) *Body {
	if r.Body == nil || r.Body == http.NoBody || (l.Idle <= 0 && l.Total <= 0) {
		return nil
	}
	now := time.Now()
	b := &Body{rc: http.NewResponseController(w), src: r.Body, l: l, h2: r.ProtoMajor >= 2}
	if l.Total > 0 {
		b.end = now.Add(l.Total)
	}
	first := time.Time{} // HTTP/2: no deadline until the handler reads
	if !b.h2 {
		first = b.deadline(now)
	}
	if err := b.rc.SetReadDeadline(first); err != nil {
		return nil // deadlines not supported: leave the body as it is
	}
	r.Body = b
	return b
}

// Body is a request body read under deadlines (Wrap). Read and Close are
// for one goroutine at a time, as any request body's; TimedOut for any.
type Body struct {
	rc       *http.ResponseController
	src      io.ReadCloser
	l        Limits
	h2       bool
	end      time.Time // zero: no total bound
	done     bool      // EOF or an error was returned; deadlines are off
	timedOut atomic.Bool
}

// TimedOut reports whether a read of the body failed for a deadline of
// the Limits. A nil *Body reports false.
func (b *Body) TimedOut() bool { return b != nil && b.timedOut.Load() }

// deadline is the deadline of a read that starts at now.
func (b *Body) deadline(now time.Time) time.Time {
	d := b.end
	if b.l.Idle > 0 && (d.IsZero() || now.Add(b.l.Idle).Before(d)) {
		d = now.Add(b.l.Idle)
	}
	return d
}

// Read reads from the request body, under a deadline of Idle from now
// and never past Total from Wrap.
func (b *Body) Read(p []byte) (int, error) {
	if b.done {
		return b.src.Read(p)
	}
	now := time.Now()
	if !b.end.IsZero() && !now.Before(b.end) {
		b.done = true
		b.timedOut.Store(true)
		return 0, fmt.Errorf("%w: longer than %v in all", ErrTimeout, b.l.Total)
	}
	if err := b.rc.SetReadDeadline(b.deadline(now)); err != nil {
		b.done = true
		return b.src.Read(p)
	}
	n, err := b.src.Read(p)
	switch {
	case err == nil:
		if b.h2 {
			// Between reads only the total bound (see the package doc).
			// On HTTP/1 this read's deadline stays for net/http's own
			// reads; the next read sets its own first.
			b.rc.SetReadDeadline(b.end)
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.done = true
		b.timedOut.Store(true)
		return n, b.timeout(err)
	default:
		// EOF (or the client's error): the server may now wait for the
		// client to close, which no deadline of ours must cut.
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// Close closes the request body.
func (b *Body) Close() error { return b.src.Close() }

// timeout is the error of a read that a deadline ended; it also matches
// cause (os.ErrDeadlineExceeded).
func (b *Body) timeout(cause error) error {
	why := fmt.Sprintf("no bytes for %v", b.l.Idle)
	switch {
	case b.l.Idle <= 0:
		why = fmt.Sprintf("longer than %v in all", b.l.Total)
	case b.l.Total > 0:
		why += fmt.Sprintf(" or longer than %v in all", b.l.Total)
	}
	return fmt.Errorf("%w: %s: %w", ErrTimeout, why, cause)
}
