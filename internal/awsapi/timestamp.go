package awsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a model timestamp. In the canonical JSON form every codec
// converts through it is epoch seconds as a number (1516925490.087), the
// awsJson1_1 wire form; the query codec turns it into ISO-8601 itself.
type Timestamp struct{ time.Time }

// Time returns a *Timestamp for t, in UTC.
func Time(t time.Time) *Timestamp { return &Timestamp{t.UTC()} }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.AppendFloat(nil, float64(ms/1000), 'f', 1, 64), nil
	}
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON accepts epoch seconds (number or numeric string) and
// ISO-8601 / RFC 3339 strings, as clients send either.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return t.setEpoch(f)
		}
		parsed, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("invalid timestamp %q", s)
		}
		t.Time = parsed.UTC()
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("invalid timestamp %s", b)
	}
	return t.setEpoch(f)
}

func (t *Timestamp) setEpoch(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return fmt.Errorf("timestamp out of range: %v", f)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
	return nil
}

// String, Int32, Int64 and Bool return pointers, for optional model members.
func String(s string) *string    { return &s }
func Int32(v int32) *int32       { return &v }
func Int64(v int64) *int64       { return &v }
func Bool(v bool) *bool          { return &v }
func Float64(v float64) *float64 { return &v }

// OptionalString is s, or nil (a member left out) when s is empty.
func OptionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// OptionalTime is t, or nil (a member left out) when t is zero.
func OptionalTime(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	return Time(t)
}

// Deref returns *p, or the zero value when p is nil.
func Deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
