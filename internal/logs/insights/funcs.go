package insights

import (
	"math"
	"strconv"
	"strings"
	"time"
)

type funcKind uint8

const (
	fNone funcKind = iota
	fIsPresent
	fIsEmpty
	fIsBlank
	fCoalesce
	fStrlen
	fToUpper
	fToLower
	fConcat
	fLtrim
	fRtrim
	fTrim
	fSubstr
	fReplace
	fStrcontains
	fAbs
	fCeil
	fFloor
	fGreatest
	fLeast
	fLog
	fSqrt
	fBin
	fDatefloor
	fDateceil
	fFromMillis
	fToMillis
)

type funcInfo struct {
	kind     funcKind
	min, max int // argument count; max -1 means variadic
}

// funcs are the scalar functions, by lower-case name. These are the cheap
// ones of AWS's general, string, numeric and datetime function tables.
var funcs = map[string]funcInfo{
	"ispresent":   {fIsPresent, 1, 1},
	"isempty":     {fIsEmpty, 1, 1},
	"isblank":     {fIsBlank, 1, 1},
	"coalesce":    {fCoalesce, 1, -1},
	"strlen":      {fStrlen, 1, 1},
	"toupper":     {fToUpper, 1, 1},
	"tolower":     {fToLower, 1, 1},
	"concat":      {fConcat, 1, -1},
	"ltrim":       {fLtrim, 1, 2},
	"rtrim":       {fRtrim, 1, 2},
	"trim":        {fTrim, 1, 2},
	"substr":      {fSubstr, 2, 3},
	"replace":     {fReplace, 3, 3},
	"strcontains": {fStrcontains, 2, 2},
	"abs":         {fAbs, 1, 1},
	"ceil":        {fCeil, 1, 1},
	"floor":       {fFloor, 1, 1},
	"greatest":    {fGreatest, 1, -1},
	"least":       {fLeast, 1, -1},
	"log":         {fLog, 1, 1},
	"sqrt":        {fSqrt, 1, 1},
	"bin":         {fBin, 1, 1},
	"datefloor":   {fDatefloor, 2, 2},
	"dateceil":    {fDateceil, 2, 2},
	"frommillis":  {fFromMillis, 1, 1},
	"tomillis":    {fToMillis, 1, 1},
}

type aggKind uint8

const (
	aggNone aggKind = iota
	aggCount
	aggCountDistinct
	aggSum
	aggAvg
	aggMin
	aggMax
	aggPct
	aggStddev
	aggEarliest
	aggLatest
)

var aggFuncs = map[string]aggKind{
	"count":          aggCount,
	"count_distinct": aggCountDistinct,
	"sum":            aggSum,
	"avg":            aggAvg,
	"min":            aggMin,
	"max":            aggMax,
	"pct":            aggPct,
	"stddev":         aggStddev,
	"earliest":       aggEarliest,
	"latest":         aggLatest,
}

// period is a bin()/datefloor() width: a fixed number of milliseconds, or a
// number of calendar months (month, quarter, year).
type period struct {
	ms     int64
	months int64
}

var periodUnits = map[string]period{}

func init() {
	add := func(p period, names ...string) {
		for _, n := range names {
			periodUnits[n] = p
			// AWS: "adding s to pluralize is supported" for multi-character units.
			if len(n) > 1 {
				periodUnits[n+"s"] = p
			}
		}
	}
	add(period{ms: 1}, "ms", "msec", "millisecond")
	add(period{ms: 1000}, "s", "sec", "second")
	add(period{ms: 60 * 1000}, "m", "min", "minute")
	add(period{ms: 3600 * 1000}, "h", "hr", "hour")
	add(period{ms: 86400 * 1000}, "d", "day")
	add(period{ms: 7 * 86400 * 1000}, "w", "week")
	add(period{months: 1}, "mo", "mon", "month")
	add(period{months: 3}, "q", "qtr", "quarter")
	add(period{months: 12}, "y", "yr", "year")
}

// parsePeriod parses "5m", "1h", "30s", "2hrs"...
func parsePeriod(text string) (period, bool) {
	i := 0
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(text[:i], 10, 64)
	if err != nil || n <= 0 {
		return period{}, false
	}
	// UNVERIFIED: whether AWS accepts upper-case units.
	u, ok := periodUnits[strings.ToLower(text[i:])]
	if !ok {
		return period{}, false
	}
	const maxMonths = 12 * 100000
	switch {
	case u.ms > 0 && n > math.MaxInt64/u.ms/2:
		return period{}, false
	case u.months > 0 && n > maxMonths/u.months:
		return period{}, false
	}
	return period{ms: u.ms * n, months: u.months * n}, true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// floorTime truncates ms to the start of its period. Fixed periods are
// aligned to the Unix epoch in UTC; monthly periods to calendar months.
// UNVERIFIED: AWS's alignment of week and multi-unit bins (e.g. bin(7m)).
func floorTime(ms int64, p period) int64 {
	if p.ms > 0 {
		return floorDiv(ms, p.ms) * p.ms
	}
	t := time.UnixMilli(ms).UTC()
	total := int64(t.Year())*12 + int64(t.Month()-1)
	total = floorDiv(total, p.months) * p.months
	y, m := floorDiv(total, 12), total-floorDiv(total, 12)*12
	return time.Date(int(y), time.Month(m+1), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

func ceilTime(ms int64, p period) int64 {
	f := floorTime(ms, p)
	if f == ms {
		return ms
	}
	if p.ms > 0 {
		return f + p.ms
	}
	return time.UnixMilli(f).UTC().AddDate(0, int(p.months), 0).UnixMilli()
}

// toMillis converts a number to int64 without undefined overflow behaviour.
func toMillis(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64/2:
		return math.MaxInt64 / 2
	case f <= math.MinInt64/2:
		return math.MinInt64 / 2
	}
	return int64(f)
}

// clampInt converts f to an int in [lo, hi].
func clampInt(f float64, lo, hi int) int {
	switch {
	case math.IsNaN(f) || f <= float64(lo):
		return lo
	case f >= float64(hi):
		return hi
	}
	return int(f)
}
