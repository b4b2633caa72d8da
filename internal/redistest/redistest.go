// Package redistest gives tests a real Redis: the URL from
// GATEHOUSE_TEST_REDIS (skipping the test when it is unset, failing it
// under GATEHOUSE_TEST_REQUIRE_SERVICES=1), clients shaped like the ones
// cmd/gatehouse opens, a random key prefix per test that is deleted when
// the test ends, a way to kill a client's subscription connection, and a
// TCP proxy that cuts the connection to Redis on demand.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL returns GATEHOUSE_TEST_REDIS, or skips the test when it is unset
// (fails it under GATEHOUSE_TEST_REQUIRE_SERVICES=1, as CI runs).
func URL(t testing.TB) string {
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

// Options returns the parsed test URL with the settings of
// redisconn.Open: context deadlines honoured, no command retries, one
// dial attempt.
func Options(t testing.TB) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_REDIS: %v", err)
	}
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	opt.DialTimeout = time.Second
	return opt
}

// Client opens a client on the test Redis named name (visible in CLIENT
// LIST), checks that it answers, and closes it when the test ends. Each
// client stands for one process.
func Client(t testing.TB, name string) *redis.Client {
	t.Helper()
	opt := Options(t)
	opt.ClientName = name
	return open(t, opt, true)
}

// ClientVia is Client, connecting through addr (a Proxy) instead; it does
// not check that Redis answers.
func ClientVia(t testing.TB, name, addr string) *redis.Client {
	t.Helper()
	opt := Options(t)
	opt.ClientName = name
	opt.Addr = addr
	return open(t, opt, false)
}

// Unreachable returns a client whose server never answers: its address is
// a port that was just closed.
func Unreachable(t testing.TB) *redis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{
		Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1,
		DialTimeout: 200 * time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func open(t testing.TB, opt *redis.Options, ping bool) *redis.Client {
	t.Helper()
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	if ping {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("redis at GATEHOUSE_TEST_REDIS does not answer: %v", err)
		}
	}
	return c
}

// Prefix returns a random key prefix for one test and deletes every key
// under it when the test ends.
func Prefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	p := "gatehouse-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		c := redis.NewClient(Options(t))
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Keys may start with the prefix or with a hash tag around it.
		for _, pattern := range []string{p + "*", "{" + p + "*"} {
			iter := c.Scan(ctx, 0, pattern, 100).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
		}
	})
	return p
}

// KillPubSub kills, from another connection, every subscription connection
// of the clients named name, as CLIENT KILL does to a subscriber in
// production, and returns how many it killed.
func KillPubSub(t testing.TB, admin *redis.Client, name string) int {
	t.Helper()
	ctx := context.Background()
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		f := fields(line)
		if f["name"] != name || f["sub"] == "0" || f["sub"] == "" {
			continue
		}
		if err := admin.Do(ctx, "CLIENT", "KILL", "ID", f["id"]).Err(); err != nil {
			t.Fatalf("CLIENT KILL ID %s: %v", f["id"], err)
		}
		n++
	}
	return n
}

// PubSubID returns the id of the subscription connection of the client
// named name, "" when it has none.
func PubSubID(t testing.TB, admin *redis.Client, name string) string {
	t.Helper()
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	for _, line := range strings.Split(list, "\n") {
		f := fields(line)
		if f["name"] == name && f["sub"] != "0" && f["sub"] != "" {
			return f["id"]
		}
	}
	return ""
}

func fields(line string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Fields(line) {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// Eventually polls cond every 10ms until it holds or within passes; it
// returns how long it took, and fails the test when it never held.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Proxy is a TCP proxy to Redis that a test can cut: Cut closes every
// connection and refuses new ones, Blackhole keeps them open but drops
// every byte (a silent network failure), Restore lets traffic through again.
type Proxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	mode  int // 0 pass, 1 refuse, 2 blackhole
	conns map[net.Conn]struct{}
}

const (
	pass = iota
	refuse
	blackhole
)

// NewProxy listens on a random local port and forwards to the test Redis.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	opt := Options(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{l: l, target: opt.Addr, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.closeAll()
	})
	return p
}

// Addr is the address clients dial.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Cut closes every open connection and refuses new ones.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.mode = refuse
	p.mu.Unlock()
	p.closeAll()
}

// Blackhole keeps connections open but stops forwarding, and accepts new
// connections that never answer.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	p.mode = blackhole
	p.mu.Unlock()
}

// Restore closes the connections a Blackhole left hanging and forwards
// again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	was := p.mode
	p.mode = pass
	p.mu.Unlock()
	if was == blackhole {
		p.closeAll()
	}
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode != refuse {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if mode == refuse {
			c.Close()
			continue
		}
		go p.handle(c)
	}
}

func (p *Proxy) handle(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if _, ok := p.conns[c]; !ok { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	go p.pipe(up, c)
	p.pipe(c, up)
}

// pipe copies from src to dst while the proxy passes traffic, and drops
// what arrives while it is a black hole.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			mode := p.mode
			p.mu.Unlock()
			if mode == pass {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// String is for test logs.
func (p *Proxy) String() string { return fmt.Sprintf("proxy %s -> %s", p.Addr(), p.target) }
