package config

import (
	"strings"
	"testing"
)

func TestAuthServerRedis(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string // want "" means valid
	}{
		{"url", "authserver:\n  issuer: http://a\n  redis: rediss://gatehouse:pw@redis:6380/0\n", ""},
		{"env", "authserver:\n  issuer: http://a\n  redis_env: GATEHOUSE_REDIS_URL\n", ""},
		{"both", "authserver:\n  issuer: http://a\n  redis: redis://r\n  redis_env: X\n", "gatehouse.yaml:4: authserver.redis_env: give redis (a URL) or redis_env"},
		{"not redis", "authserver:\n  issuer: http://a\n  redis: http://r\n", "gatehouse.yaml:3: authserver.redis: must be a redis:// or rediss:// URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("gatehouse.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if f.AuthServer.Redis == "" && f.AuthServer.RedisEnv == "" {
					t.Fatal("redis not parsed")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Fatal("the error repeats the URL's password")
			}
		})
	}
}
