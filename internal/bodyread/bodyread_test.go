package bodyread_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/bodyread"
)

// reading starts a server whose handler reads the body under l and sends
// the read's error (nil for a whole body) to the channel.
func reading(t *testing.T, l bodyread.Limits, h2 bool) (*httptest.Server, <-chan error) {
	t.Helper()
	got := make(chan error, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := bodyread.Wrap(w, r, l)
		_, err := io.ReadAll(r.Body)
		if errors.Is(err, bodyread.ErrTimeout) != b.TimedOut() {
			err = fmt.Errorf("TimedOut() is %v for %w", b.TimedOut(), err)
		}
		got <- err
		if err != nil {
			w.WriteHeader(http.StatusRequestTimeout)
		}
	}))
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, got
}

// closed reports whether the server closed the connection behind br,
// failing t when it neither closed nor sent more before the guard
// deadline.
func closed(t *testing.T, br *bufio.Reader) bool {
	t.Helper()
	_, err := br.ReadByte()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server neither closed the connection nor sent more: %v", err)
	}
	return err != nil
}

// Attacks: a client that announces a body and stops sending it, and one
// that sends a byte at a time, never idle but never done. Both are cut,
// on HTTP/1.1 (a raw connection) and HTTP/2.
func TestSlowBodiesAreCut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limits  bodyread.Limits
		trickle bool
	}{
		{"stalled body, idle bound", bodyread.Limits{Idle: 50 * time.Millisecond, Total: time.Hour}, false},
		{"trickled body, total bound", bodyread.Limits{Idle: time.Hour, Total: 100 * time.Millisecond}, true},
		{"stalled body, total bound only", bodyread.Limits{Total: 50 * time.Millisecond}, false},
	} {
		t.Run(tc.name+", HTTP/1.1", func(t *testing.T) {
			srv, got := reading(t, tc.limits, false)
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\na")
			if tc.trickle {
				go func() {
					for {
						if _, err := conn.Write([]byte("a")); err != nil {
							return
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()
			}
			if err := <-got; !errors.Is(err, bodyread.ErrTimeout) {
				t.Fatalf("the handler read %v, want ErrTimeout", err)
			}
			// The server answers and closes the connection.
			conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // against a hang only
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer after the cut: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !closed(t, br) {
				t.Fatal("the connection stayed open after a cut body")
			}
		})
		t.Run(tc.name+", HTTP/2", func(t *testing.T) {
			srv, got := reading(t, tc.limits, true)
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() {
				pw.Write([]byte("a"))
				for tc.trickle {
					if _, err := pw.Write([]byte("a")); err != nil {
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			req, _ := http.NewRequest("POST", srv.URL, pr)
			req.ContentLength = 100000
			resp, err := srv.Client().Do(req)
			if err == nil {
				if resp.ProtoMajor != 2 {
					t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
				}
				resp.Body.Close()
			}
			if err := <-got; !errors.Is(err, bodyread.ErrTimeout) {
				t.Fatalf("the handler read %v, want ErrTimeout", err)
			}
		})
	}
}

// A body that arrives in time is read whole; afterwards the handler may
// take longer than the idle bound without the request being cancelled
// (the server's watch for the client closing is not cut).
func TestTimelyBodyAndSlowHandler(t *testing.T) {
	l := bodyread.Limits{Idle: 20 * time.Millisecond, Total: 40 * time.Millisecond}
	srv := httptest.NewServer(bodyread.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		time.Sleep(100 * time.Millisecond) // past both bounds
		if err := r.Context().Err(); err != nil {
			http.Error(w, "cancelled: "+err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	}), l))
	defer srv.Close()
	for range 2 { // twice: the connection is kept and its deadline reset
		resp, err := srv.Client().Post(srv.URL, "text/plain", strings.NewReader(strings.Repeat("x", 5000)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "5000" {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
}

// Without a deadline-capable writer (a ResponseRecorder), Wrap leaves the
// body alone; without limits, Handler is h itself.
func TestWrapWithoutDeadlines(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("abc"))
	before := r.Body
	bodyread.Wrap(httptest.NewRecorder(), r, bodyread.Limits{Idle: time.Second, Total: time.Second})
	if r.Body != before {
		t.Fatal("Wrap replaced the body of a writer without deadlines")
	}
	h := http.NotFoundHandler()
	if got := bodyread.Handler(h, bodyread.Limits{}); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Fatal("Handler wrapped h without limits")
	}
}

// A handler that answers without reading a stalled body (a refusal): on
// HTTP/1 net/http reads the rest before it answers, which Wrap bounds
// too: the answer comes, and the connection is closed.
func TestUnreadStalledBody(t *testing.T) {
	srv := httptest.NewServer(bodyread.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}), bodyread.Limits{Idle: 50 * time.Millisecond, Total: time.Hour}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\na")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // against a hang only
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !closed(t, br) {
		t.Fatal("the connection stayed open")
	}
}
