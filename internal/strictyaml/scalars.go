package strictyaml

// The conversions of scalar values to strings, booleans, numbers and
// durations, and the words their errors use to say what to write instead.

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

func (d *decoder) scalar(n *yaml.Node, key string, out reflect.Value) error {
	t := out.Type()
	v := n.Value
	switch {
	case t == durationType:
		dur, err := ParseDuration(v)
		if err != nil {
			return d.fail(n, key, "%v", err)
		}
		out.SetInt(int64(dur))
		return nil
	case t.Kind() == reflect.String:
		out.SetString(v)
		return nil
	case t.Kind() == reflect.Bool:
		switch n.ShortTag() {
		case "!!bool":
			out.SetBool(strings.EqualFold(v, "true"))
			return nil
		}
		return d.fail(n, key, "%s is not true or false: write %s: true or %s: false", quote(v), lastKey(key), lastKey(key))
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 0, t.Bits())
		if err != nil || n.ShortTag() != "!!int" {
			return d.fail(n, key, "%s is not a whole number: write digits only, such as %s: %s", quote(v), lastKey(key), exampleInt(key))
		}
		out.SetInt(i)
		return nil
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		u, err := strconv.ParseUint(strings.ReplaceAll(v, "_", ""), 0, t.Bits())
		if err != nil || n.ShortTag() != "!!int" {
			return d.fail(n, key, "%s is not a whole number of zero or more: write digits only, such as %s: %s", quote(v), lastKey(key), exampleInt(key))
		}
		out.SetUint(u)
		return nil
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), t.Bits())
		if err != nil || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			return d.fail(n, key, "%s is not a number: write digits, such as %s: 10 or %s: 0.5", quote(v), lastKey(key), lastKey(key))
		}
		out.SetFloat(f)
		return nil
	}
	return fmt.Errorf("strictyaml: %s: type %s is not supported", key, t)
}

// ParseDuration reads a duration as gatehouse.yaml writes it ("30s",
// "15m", "1h30m"). Its error says what to write instead: "30 is not a
// duration: write 30s ...".
func ParseDuration(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	const units = "a number and a unit: ms, s, m or h, such as 500ms, 30s, 15m or 1h30m"
	s := strings.TrimSpace(v)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("%s is not a duration: write %ss for %s seconds (%s)", s, s, s, units)
	}
	if num, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(num); err == nil {
			return 0, fmt.Errorf("%s is not a duration: write %dh for %d days (%s)", quote(v), 24*days, days, units)
		}
	}
	if t := strings.ReplaceAll(s, " ", ""); t != s {
		if _, err := time.ParseDuration(t); err == nil {
			return 0, fmt.Errorf("%s is not a duration: write %s, without spaces", quote(v), t)
		}
	}
	return 0, fmt.Errorf("%s is not a duration: write %s", quote(v), units)
}

func exampleInt(key string) string {
	if strings.HasSuffix(key, "bytes") {
		return "1048576"
	}
	return "10"
}

func quote(v string) string {
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return strconv.Quote(v)
}

func lastKey(key string) string {
	if i := strings.LastIndexAny(key, "."); i >= 0 {
		key = key[i+1:]
	}
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i]
	}
	if key == "" {
		return "KEY"
	}
	return key
}

// typeWord names what a value of t is written as.
func typeWord(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s"
	case t.Kind() == reflect.String:
		return "text"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return t.String()
}
