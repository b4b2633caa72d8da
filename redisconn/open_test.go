package redisconn_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/redisconn"
)

func TestOpenChoosesTheClientByURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // client type
	}{
		{"redis://127.0.0.1:6379/0", "*redis.Client"},
		{"rediss://user:pw@redis.example:6380/1", "*redis.Client"},
		{"unix:///run/redis.sock", "*redis.Client"},
		{"redis://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000", "*redis.ClusterClient"},
		// A failover client is a *redis.Client talking to the master
		// the sentinels name.
		{"redis://sentinel-1:26379?master_name=main&addr=sentinel-2:26379", "*redis.Client"},
	}
	for _, tt := range tests {
		c, err := redisconn.Open(tt.url)
		if err != nil {
			t.Errorf("Open(%s): %v", tt.url, err)
			continue
		}
		if got := fmt.Sprintf("%T", c); got != tt.want {
			t.Errorf("Open(%s) = %s, want %s", tt.url, got, tt.want)
		}
		c.Close()
	}
}

func TestOpenSetsFailFastOptions(t *testing.T) {
	c, err := redisconn.Open("rediss://gw:s3cret@redis.example:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.(*redis.Client).Options()
	if o.Addr != "redis.example:6380" || o.Username != "gw" || o.Password != "s3cret" || o.DB != 2 {
		t.Errorf("options: addr %q user %q db %d", o.Addr, o.Username, o.DB)
	}
	if o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.example" || o.TLSConfig.InsecureSkipVerify {
		t.Errorf("rediss:// without verified TLS: %+v", o.TLSConfig)
	}
	// go-redis turns the -1 that Open sets into 0, its "no retries" once
	// the client is built (a 0 from the URL would have become 3).
	if !o.ContextTimeoutEnabled || o.MaxRetries != 0 || o.DialerRetries != 1 {
		t.Errorf("not fail-fast: ContextTimeoutEnabled %v MaxRetries %d DialerRetries %d", o.ContextTimeoutEnabled, o.MaxRetries, o.DialerRetries)
	}
	// An explicit max_retries is kept.
	c2, err := redisconn.Open("redis://127.0.0.1:6379/0?max_retries=2")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if n := c2.(*redis.Client).Options().MaxRetries; n != 2 {
		t.Errorf("max_retries=2 gave %d", n)
	}

	cl, err := redisconn.Open("redis://10.0.0.1:7000?addr=10.0.0.2:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if o := cl.(*redis.ClusterClient).Options(); !o.ContextTimeoutEnabled || o.MaxRetries != -1 || o.DialerRetries != 1 {
		t.Errorf("cluster not fail-fast: %v %d %d", o.ContextTimeoutEnabled, o.MaxRetries, o.DialerRetries)
	}
}

// Bad URLs are refused with a message that says what is wrong and never
// repeats the URL or its password.
func TestOpenRefusesBadURLsWithoutThePassword(t *testing.T) {
	for _, bad := range []string{
		"http://user:hunter2@host/0",
		"redis://user:hunter2@host:notaport/0",
		"redis://user:hunter2%zz@host/0",
		"redis://user:hunter2@host/notadb",
		"redis://user:hunter2@host/0?nosuchoption=1",
		"redis://user:hunter2@host/0\x7f",
		"redis://user:hunter2@host/0?master_name=m&nosuchoption=1",
		"redis://user:hunter2@host:1?addr=h2:1&nosuchoption=1",
	} {
		_, err := redisconn.Open(bad)
		if err == nil {
			t.Errorf("Open(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "user:") {
			t.Errorf("Open error repeats the URL: %v", err)
		}
		if !strings.Contains(err.Error(), "redis URL") {
			t.Errorf("Open error does not say it is about the redis URL: %v", err)
		}
	}
}

func roundTrip(t *testing.T, c redis.UniversalClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key := "gatehouse-test:redisconn:" + t.Name()
	if err := c.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
}

func TestOpenSingleServer(t *testing.T) {
	c, err := redisconn.Open(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c)
}

// A Sentinel URL reaches the master that a real sentinel names.
func TestOpenSentinel(t *testing.T) {
	redistest.URL(t) // skips like every Redis test when none is configured
	master := redistest.StartServer(t)
	host, port, _ := strings.Cut(master, ":")
	sentinel := redistest.StartServer(t, "--sentinel",
		"--sentinel", "monitor", "gh", host, port, "1")
	c, err := redisconn.Open("redis://" + sentinel + "/0?master_name=gh")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c)
}

// A Cluster URL reaches a real (one-node) cluster and follows its slots.
func TestOpenCluster(t *testing.T) {
	redistest.URL(t)
	node := redistest.StartServer(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	admin := redis.NewClient(&redis.Options{Addr: node})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
	}
	redistest.Eventually(t, 10*time.Second, "cluster_state:ok", func() bool {
		info, _ := admin.ClusterInfo(ctx).Result()
		return strings.Contains(info, "cluster_state:ok")
	})
	c, err := redisconn.Open("redis://" + node + "?addr=" + node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*redis.ClusterClient); !ok {
		t.Fatalf("Open gave %T", c)
	}
	roundTrip(t, c)
}
