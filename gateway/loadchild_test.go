package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/exepages"
)

// The proxies of BenchmarkGatewayLoad run in processes of their own, as
// they do in production, so that each one's memory (RSS, heap) is its own
// and the load generator's allocations are not collected by their GC. A
// child is this test binary run as TestLoadChild with the environment
// below; it prints its address, then answers "mem" on stdin with a line of
// memStats, and exits at the end of stdin.

const (
	childEnv         = "GATEHOUSE_LOAD_CHILD" // bare or gw
	childUpstreamEnv = "GATEHOUSE_LOAD_UPSTREAM"
	childConfigEnv   = "GATEHOUSE_LOAD_CONFIG" // the gateway section, for gw
)

// memStats is a child's memory: the heap from runtime/metrics, the resident
// set from /proc/self/status (now and its peak).
type memStats struct {
	HeapLive    uint64 `json:"heap_live"`    // /gc/heap/live:bytes, after the last GC
	HeapObjects uint64 `json:"heap_objects"` // /memory/classes/heap/objects:bytes
	HeapGoal    uint64 `json:"heap_goal"`    // /gc/heap/goal:bytes
	Runtime     uint64 `json:"runtime"`      // /memory/classes/total:bytes: all the runtime mapped
	GCs         uint64 `json:"gcs"`          // /gc/cycles/total:gc-cycles
	RSS         uint64 `json:"rss"`          // VmRSS
	HWM         uint64 `json:"hwm"`          // VmHWM: the peak RSS
	Anon        uint64 `json:"anon"`         // RssAnon: the anonymous part of RSS
	// Of a serve child: how much of its binary the page cache holds, and
	// the page faults that read from the file (majflt of /proc/PID/stat).
	ExeCached   uint64 `json:"-"`
	MajorFaults uint64 `json:"-"`
}

// procRSS reads VmRSS, VmHWM and the anonymous part of VmRSS (RssAnon:
// heap, stacks; the rest is pages of the binary and shared memory) of
// process pid ("self" for this one).
func procRSS(pid string) (rss, hwm, anon uint64) {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, 0
	}
	for line := range strings.Lines(string(data)) {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		case "RssAnon":
			anon = kb << 10
		}
	}
	return rss, hwm, anon
}

func readMemStats() memStats {
	samples := []rtmetrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/goal:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/gc/cycles/total:gc-cycles"},
	}
	rtmetrics.Read(samples)
	m := memStats{
		HeapLive: samples[0].Value.Uint64(), HeapObjects: samples[1].Value.Uint64(),
		HeapGoal: samples[2].Value.Uint64(), Runtime: samples[3].Value.Uint64(), GCs: samples[4].Value.Uint64(),
	}
	m.RSS, m.HWM, m.Anon = procRSS("self")
	return m
}

// TestLoadChild is a proxy of BenchmarkGatewayLoad when run by it (see
// startChild); otherwise it skips.
func TestLoadChild(t *testing.T) {
	kind := os.Getenv(childEnv)
	if kind == "" {
		t.Skip("run by BenchmarkGatewayLoad only")
	}
	up, err := url.Parse(os.Getenv(childUpstreamEnv))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var srv *http.Server
	switch kind {
	case "bare":
		srv = &http.Server{Handler: &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(up); pr.SetXForwarded() },
			Transport: newTransport(),
		}}
	case "gw":
		cfg, err := ParseConfig("load.yaml", []byte(os.Getenv(childConfigEnv)))
		if err != nil {
			t.Fatal(err)
		}
		gw, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer gw.Close()
		srv = gw.NewServer()
		ln = gw.Listener(ln)
	default:
		t.Fatalf("%s=%q", childEnv, kind)
	}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Printf("addr=%s\n", ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	var prof *os.File
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "cpu": // start a CPU profile to the file arg
			f, err := os.Create(arg)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				t.Error(err)
			}
			prof = f
			fmt.Printf("ok\n")
		case "stop": // stop it, and write a heap profile to arg
			pprof.StopCPUProfile()
			if prof != nil {
				prof.Close()
			}
			if f, err := os.Create(arg); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			fmt.Printf("ok\n")
		case "mem":
			b, _ := json.Marshal(readMemStats())
			fmt.Printf("%s\n", b)
		case "classes":
			all := rtmetrics.All()
			ss := make([]rtmetrics.Sample, 0, len(all))
			for _, d := range all {
				if strings.HasPrefix(d.Name, "/memory/classes/") {
					ss = append(ss, rtmetrics.Sample{Name: d.Name})
				}
			}
			rtmetrics.Read(ss)
			for _, x := range ss {
				fmt.Fprintf(os.Stderr, "%s %d\n", x.Name, x.Value.Uint64()>>10)
			}
			fmt.Printf("ok\n")
		case "gc":
			runtime.GC()
			fmt.Printf("ok\n")
		}
	}
}

// child is a proxy process of the benchmark.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	addr  string
	admin string // serve: the admin listener, for /metrics
}

// serveEnv names a gatehouse binary: the gateway child is then 'gatehouse
// serve' with the same gateway section, the product as it runs (its
// access log goes to stderr, which the benchmark reads and drops).
const serveEnv = "GATEHOUSE_LOAD_SERVE"

// gwEnvEnv holds more environment of the gateway child, such as
// "GOGC=50 GOMEMLIMIT=24MiB", to see what the runtime's settings change.
const gwEnvEnv = "GATEHOUSE_LOAD_GW_ENV"

// startChild runs TestLoadChild of this binary as kind (bare or gw) in
// front of upstream; config is the gateway section for gw. With
// GATEHOUSE_LOAD_SERVE set, gw is 'gatehouse serve' of that binary.
func startChild(tb testing.TB, kind, upstream, config string) *child {
	tb.Helper()
	if bin := os.Getenv(serveEnv); bin != "" && kind == "gw" {
		return startServe(tb, bin, config)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), childEnv+"="+kind, childUpstreamEnv+"="+upstream, childConfigEnv+"="+config)
	if kind == "gw" {
		cmd.Env = append(cmd.Env, strings.Fields(os.Getenv(gwEnvEnv))...)
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	tb.Cleanup(func() { c.stop() })
	for c.out.Scan() {
		if a, ok := strings.CutPrefix(c.out.Text(), "addr="); ok {
			c.addr = a
			return c
		}
	}
	tb.Fatalf("the %s child printed no address", kind)
	return nil
}

// startServe runs 'bin serve' with the gateway section config.
func startServe(tb testing.TB, bin, config string) *child {
	tb.Helper()
	file := tb.TempDir() + "/gatehouse.yaml"
	var b strings.Builder
	b.WriteString("gateway:\n  listen: 127.0.0.1:0\n  admin_listen: 127.0.0.1:0\n")
	for line := range strings.Lines(strings.TrimLeft(config, "\n")) {
		b.WriteString("  " + line)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	// The page cache holds what the build wrote: drop the binary's clean
	// pages from it, so that what it holds at the end is what the process
	// read (fileCached).
	_ = exepages.DropCached(bin)
	cmd := exec.Command(bin, "serve", "--config", file)
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv(gwEnvEnv))...)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: cmd}
	tb.Cleanup(func() { c.stop() })
	sc := bufio.NewScanner(errPipe)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// gatehouse: gateway listening on http://ADDR (admin http://ADMIN)
		rest, ok := strings.CutPrefix(sc.Text(), "gatehouse: gateway listening on http://")
		if !ok {
			continue
		}
		addr, admin, _ := strings.Cut(rest, " (admin http://")
		c.addr, c.admin = addr, strings.TrimSuffix(admin, ")")
		go func() { // the access log
			for sc.Scan() {
			}
		}()
		return c
	}
	tb.Fatalf("%s serve printed no gateway address", bin)
	return nil
}

func (c *child) stop() {
	if c.in != nil {
		c.in.Close()
	} else {
		c.cmd.Process.Signal(os.Interrupt)
	}
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
	}
}

// cpu is the CPU time the child has used so far, in all its threads, from
// /proc/PID/task/*/schedstat (nanoseconds on a CPU), or 0.
func (c *child) cpu() time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", c.cmd.Process.Pid))
	var sum time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f, _, _ := strings.Cut(string(data), " ")
		ns, _ := strconv.ParseInt(f, 10, 64)
		sum += time.Duration(ns)
	}
	return sum
}

// do sends a command to a test child and waits for its ok.
func (c *child) do(tb testing.TB, cmd string) {
	tb.Helper()
	if c.in == nil {
		return // serve: no commands
	}
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		tb.Fatal(err)
	}
	for c.out.Scan() && c.out.Text() != "ok" {
	}
}

// URL is the child's base URL.
func (c *child) URL() string { return "http://" + c.addr }

// mem returns the child's memory: the resident set from its
// /proc/PID/status, the heap from the child itself (or, for serve, from
// its /metrics).
func (c *child) mem(tb testing.TB) memStats {
	tb.Helper()
	var m memStats
	if c.in == nil {
		m = c.serveMem(tb)
	} else {
		if _, err := io.WriteString(c.in, "mem\n"); err != nil {
			tb.Fatal(err)
		}
		for c.out.Scan() {
			line := c.out.Text()
			if strings.HasPrefix(line, "{") {
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					tb.Fatal(err)
				}
				break
			}
		}
	}
	m.RSS, m.HWM, m.Anon = procRSS(strconv.Itoa(c.cmd.Process.Pid))
	if c.in == nil {
		m.ExeCached = fileCached(tb, fmt.Sprintf("/proc/%d/exe", c.cmd.Process.Pid)) // the binary, also behind a wrapper that execs it
		m.MajorFaults = majorFaults(c.cmd.Process.Pid)
	}
	return m
}

// fileCached is how much of the file at path the page cache holds. For
// the binary of a serve child it says whether the pages the process gave
// back after start (internal/exepages) left memory or only its resident
// set.
func fileCached(tb testing.TB, path string) uint64 {
	tb.Helper()
	n, err := exepages.CachedBytes(path)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// majorFaults is the majflt field of /proc/PID/stat: the page faults of
// the process that read from a file, or 0.
func majorFaults(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(data), ") ") // after the command's name
	f := strings.Fields(rest)
	if len(f) < 10 {
		return 0
	}
	n, _ := strconv.ParseUint(f[9], 10, 64) // state ppid pgrp session tty tpgid flags minflt cminflt majflt
	return n
}

// serveMem reads the heap of a serve child from its Go collector.
func (c *child) serveMem(tb testing.TB) memStats {
	tb.Helper()
	var m memStats
	resp, err := http.Get("http://" + c.admin + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(v, 64)
		switch name {
		case "go_memstats_heap_alloc_bytes":
			m.HeapObjects = uint64(f)
		case "go_memstats_sys_bytes":
			m.Runtime = uint64(f)
		case "go_memstats_next_gc_bytes":
			m.HeapGoal = uint64(f)
		}
	}
	return m
}
