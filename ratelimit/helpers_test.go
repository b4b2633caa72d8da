package ratelimit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/redisconn"
)

// fakeClock is an injectable clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newMemory returns a Memory on a fake clock, failing the test on error.
func newMemory(t testing.TB, p Policy, opts ...MemoryOption) (*Memory, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	m, err := NewMemory(p, append([]MemoryOption{WithClock(clk.Now)}, opts...)...)
	if err != nil {
		t.Fatalf("NewMemory(%+v): %v", p, err)
	}
	return m, clk
}

// allow calls lim.Allow and fails the test on error.
func allow(t testing.TB, lim Limiter, key string, n int) Decision {
	t.Helper()
	d, err := lim.Allow(context.Background(), key, n)
	if err != nil {
		t.Fatalf("Allow(%q, %d): %v", key, n, err)
	}
	return d
}

// redisURL returns GATEHOUSE_TEST_REDIS, or skips the test when it is unset
// (fails it under GATEHOUSE_TEST_REQUIRE_SERVICES=1, as CI runs).
func redisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_REDIS")
	if u == "" {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("GATEHOUSE_TEST_REDIS is not set and GATEHOUSE_TEST_REQUIRE_SERVICES=1: this test needs a real Redis")
		}
		t.Skip("set GATEHOUSE_TEST_REDIS (e.g. redis://127.0.0.1:6379/0) to run the tests against a real Redis")
	}
	return u
}

// openRedis opens a client for a single-server URL the way processes do.
func openRedis(rawURL string) (*redis.Client, error) {
	c, err := redisconn.Open(rawURL)
	if err != nil {
		return nil, err
	}
	return c.(*redis.Client), nil
}

// newRedisClient opens a client on the test Redis, checks it answers and
// closes it when the test ends.
func newRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	c, err := openRedis(redisURL(t))
	if err != nil {
		t.Fatalf("redisconn.Open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("the Redis of GATEHOUSE_TEST_REDIS does not answer: %v", err)
	}
	return c
}

// testPrefix returns a key prefix of its own for the test and deletes its
// keys when the test ends.
func testPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "gatehouse-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
	})
	return prefix
}

// newRedisLimiter builds a Redis limiter with a test prefix and a timeout
// generous enough for the race detector on a small machine.
func newRedisLimiter(t testing.TB, c redis.Scripter, prefix string, p Policy, opts ...RedisOption) *Redis {
	t.Helper()
	base := []RedisOption{WithPrefix(prefix), WithTimeout(5 * time.Second), WithLogger(discardLogger())}
	r, err := NewRedis(c, p, append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewRedis(%+v): %v", p, err)
	}
	return r
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logBuffer is an io.Writer safe for concurrent use, for captured logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// outageProxy is a TCP proxy in front of the test Redis that can be taken
// down (every connection closed, new ones closed at once) and brought back,
// to show a Redis outage and its end on a real server.
type outageProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newOutageProxy(t testing.TB, target string) *outageProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &outageProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

func (p *outageProxy) Addr() string { return p.ln.Addr().String() }

func (p *outageProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *outageProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

func (p *outageProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// redisAddr returns host:port of the test Redis.
func redisAddr(t testing.TB) string {
	t.Helper()
	opt, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	return opt.Addr
}

// eventually polls f every 20 ms until it returns nil or d passes.
func eventually(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errNotYet = errors.New("not yet")
