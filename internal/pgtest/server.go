package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server of a test's own, in a temporary folder on a
// free port of 127.0.0.1, for tests that stop, restart or cut off the
// server (outages), which the shared server of GATEHOUSE_TEST_POSTGRES
// must never see. It needs initdb and pg_ctl on PATH.
//
// It is gated like [URL]: without GATEHOUSE_TEST_POSTGRES the test is
// skipped, unless GATEHOUSE_TEST_REQUIRE_SERVICES=1, which also makes a
// missing initdb a failure instead of a skip.
//
// PostgreSQL refuses to run as root: run as root, the server's folder is
// given to the postgres user and initdb and pg_ctl run as that user through
// runuser (or su when runuser is missing).
type Server struct {
	dir  string // data folder
	port int
	as   string // the user the server runs as; "" for the current one
}

// NewServer initializes and starts a server; it is stopped and its folder
// removed when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	require := os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1"
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") == "" && !require {
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set; skipping the test with a PostgreSQL server of its own")
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not on PATH: the test needs a PostgreSQL server of its own"
			if require {
				t.Fatal(msg + " and GATEHOUSE_TEST_REQUIRE_SERVICES=1")
			}
			t.Skip(msg + "; skipping")
		}
	}
	s := &Server{port: freePort(t)}
	if os.Geteuid() == 0 {
		s.as = "postgres"
	}
	root, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	s.dir = filepath.Join(root, "data")
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if s.as != "" {
		u, err := user.Lookup(s.as)
		if err != nil {
			t.Fatalf("running as root, the server runs as %s: %v", s.as, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.run(t, "initdb", "-D", s.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	t.Cleanup(func() { s.pgCtl(t, false, "stop", "-m", "immediate") })
	s.Start(t)
	return s
}

// URL is the server's connection URL (database postgres, user postgres,
// no password).
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Start starts the server (again) and waits until it accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=50", s.port, s.dir)
	s.pgCtl(t, true, "start", "-w", "-t", "30", "-l", filepath.Join(s.dir, "server.log"), "-o", opts)
}

// Stop stops the server the way an operator does (pg_ctl stop -m fast):
// the sessions get SQLSTATE 57P01 admin_shutdown, new connections are
// refused.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.pgCtl(t, true, "stop", "-w", "-m", "fast")
}

// TerminateSessions ends every other session on the server
// (pg_terminate_backend): their next statement fails with 57P01.
func (s *Server) TerminateSessions(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) pgCtl(t testing.TB, mustSucceed bool, args ...string) {
	t.Helper()
	out, err := s.command(append([]string{"pg_ctl", "-D", s.dir}, args...)...).CombinedOutput()
	if err != nil && mustSucceed {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		t.Fatalf("pg_ctl %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, out, log)
	}
}

func (s *Server) run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := s.command(args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// command runs args as the server's user.
func (s *Server) command(args ...string) *exec.Cmd {
	if s.as == "" {
		return exec.Command(args[0], args[1:]...)
	}
	path, err := exec.LookPath(args[0])
	if err == nil {
		args[0] = path
	}
	if _, err := exec.LookPath("runuser"); err == nil {
		return exec.Command("runuser", append([]string{"-u", s.as, "--"}, args...)...)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return exec.Command("su", s.as, "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
