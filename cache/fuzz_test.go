package cache

import (
	"log/slog"
	"testing"
)

// recorder is a listener that counts what it hears.
type recorder struct{ keys, flushes int }

func (r *recorder) id() string                { return "recorder" }
func (r *recorder) invalidated(keys []string) { r.keys += len(keys) }
func (r *recorder) flush()                    { r.flushes++ }

// FuzzDecode feeds what the shared tier holds, which another process (or
// anyone who can write to Redis) wrote: decoding never panics, and a value
// it accepts encodes back to an equivalent entry.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`+"v1"`, `-`, `+`, ``, `+{"a":1}`, `+null`, `x`, `--`, `+"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decode[string](data)
		if err != nil {
			return
		}
		b, err := encode(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := decode[string](b)
		if err != nil || again.neg != e.neg || again.value != e.value {
			t.Fatalf("round trip %q: %+v, %v", data, again, err)
		}
	})
}

// FuzzMessage feeds invalidation messages, which anyone who can PUBLISH on
// the channel sends: handling never panics.
func FuzzMessage(f *testing.F) {
	for _, s := range []string{`{"c":"users","o":"x","k":["alice"]}`, `{}`, `null`, `[]`, `{"c":"users","k":null}`, ``, `{"c":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		r := &Redis{log: slog.New(slog.DiscardHandler)}
		rec := &recorder{}
		r.attach("users", rec)
		r.message(payload)
		if rec.flushes != 0 {
			t.Fatal("a message flushed the local tier")
		}
	})
}
