package insights

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// record is the evaluation environment for one event (or, after stats, one
// aggregated row). The executor reuses a single record for every event, so
// resetting it must be cheap: slot validity is tracked by generation number.
type record struct {
	ev    Event
	hasEv bool

	// Slots hold fields defined by the query (parse outputs, fields aliases).
	slots  []value
	setGen []uint32
	gen    uint32

	// JSON fields of the message, discovered on first use.
	json     map[string]value
	jsonDone bool

	// named holds the columns of a stats row; aggs its aggregate results.
	named map[string]value
	aggs  []value
}

func newRecord(nslots int) *record {
	return &record{slots: make([]value, nslots), setGen: make([]uint32, nslots), gen: 1}
}

func (r *record) reset(ev Event) {
	r.ev, r.hasEv = ev, true
	r.gen++
	if r.gen == 0 { // wrapped: stale generations could alias
		clear(r.setGen)
		r.gen = 1
	}
	r.json, r.jsonDone = nil, false
}

func (r *record) set(slot int, v value) {
	r.slots[slot] = v
	r.setGen[slot] = r.gen
}

// lookup resolves a field reference: query-defined fields first, then stats
// columns, then the generated @ fields, then JSON fields of the message.
func (r *record) lookup(e *expr) value {
	if e.slot >= 0 && r.setGen[e.slot] == r.gen {
		return r.slots[e.slot]
	}
	if r.named != nil {
		if v, ok := r.named[e.name]; ok {
			return v
		}
	}
	if !r.hasEv {
		return missing
	}
	switch e.sys {
	case sysTimestamp:
		return timeVal(r.ev.Timestamp)
	case sysMessage:
		return strVal(r.ev.Message)
	case sysLogStream:
		return strVal(r.ev.LogStream)
	case sysLog:
		return strVal(r.ev.Log)
	case sysIngestionTime:
		return timeVal(r.ev.IngestionTime)
	case sysPtr:
		return strVal(r.ev.Ptr)
	}
	if !r.jsonDone {
		r.jsonDone = true
		r.json = discoverJSON(r.ev.Message)
	}
	if v, ok := r.json[e.name]; ok {
		return v
	}
	return missing
}

func eval(e *expr, r *record) value {
	switch e.op {
	case opLit:
		return e.lit
	case opRef:
		return r.lookup(e)
	case opAgg:
		if e.aggIdx < len(r.aggs) {
			return r.aggs[e.aggIdx]
		}
		return missing
	case opNeg:
		x, ok := eval(e.args[0], r).num()
		if !ok {
			return missing
		}
		return numVal(-x)
	case opAdd, opSub, opMul, opDiv, opMod, opPow:
		x, ok1 := eval(e.args[0], r).num()
		y, ok2 := eval(e.args[1], r).num()
		if !ok1 || !ok2 {
			return missing
		}
		return numVal(arith(e.op, x, y))
	case opEq, opNe, opLt, opLe, opGt, opGe:
		a, b := eval(e.args[0], r), eval(e.args[1], r)
		c, ok := compare(a, b)
		if !ok {
			// A present value that cannot be compared is simply different.
			return boolVal(e.op == opNe && a.k != kMissing && b.k != kMissing)
		}
		switch e.op {
		case opEq:
			return boolVal(c == 0)
		case opNe:
			return boolVal(c != 0)
		case opLt:
			return boolVal(c < 0)
		case opLe:
			return boolVal(c <= 0)
		case opGt:
			return boolVal(c > 0)
		}
		return boolVal(c >= 0)
	case opAnd:
		if !eval(e.args[0], r).truthy() {
			return boolVal(false)
		}
		return boolVal(eval(e.args[1], r).truthy())
	case opOr:
		if eval(e.args[0], r).truthy() {
			return boolVal(true)
		}
		return boolVal(eval(e.args[1], r).truthy())
	case opNot:
		return boolVal(!eval(e.args[0], r).truthy())
	case opLike:
		v := eval(e.args[0], r)
		if v.k == kMissing {
			// UNVERIFIED: whether `f not like x` matches events lacking f.
			return boolVal(false)
		}
		s := v.String()
		var m bool
		if e.re != nil {
			m = e.re.MatchString(s)
		} else {
			m = strings.Contains(s, e.pattern)
		}
		return boolVal(m != e.negate)
	case opIn:
		v := eval(e.args[0], r)
		if v.k == kMissing {
			return boolVal(false)
		}
		found := false
		for _, l := range e.list {
			if c, ok := compare(v, l); ok && c == 0 {
				found = true
				break
			}
		}
		return boolVal(found != e.negate)
	case opCall:
		return call(e, r)
	}
	return missing
}

func arith(op opKind, x, y float64) float64 {
	switch op {
	case opAdd:
		return x + y
	case opSub:
		return x - y
	case opMul:
		return x * y
	case opDiv:
		return x / y
	case opMod:
		return math.Mod(x, y)
	}
	return math.Pow(x, y)
}

func call(e *expr, r *record) value {
	switch e.fn {
	case fIsPresent:
		return boolVal(eval(e.args[0], r).k != kMissing)
	case fIsEmpty:
		v := eval(e.args[0], r)
		return boolVal(v.k == kMissing || v.String() == "")
	case fIsBlank:
		v := eval(e.args[0], r)
		return boolVal(v.k == kMissing || strings.TrimSpace(v.String()) == "")
	case fCoalesce:
		for _, a := range e.args {
			if v := eval(a, r); v.k != kMissing {
				return v
			}
		}
		return missing
	case fConcat:
		var b strings.Builder
		seen := false
		for _, a := range e.args {
			if v := eval(a, r); v.k != kMissing {
				seen = true
				b.WriteString(v.String())
			}
		}
		if !seen {
			return missing
		}
		return strVal(b.String())
	case fGreatest, fLeast:
		best, have := 0.0, false
		for _, a := range e.args {
			x, ok := eval(a, r).num()
			if !ok {
				continue
			}
			if !have || (e.fn == fGreatest && x > best) || (e.fn == fLeast && x < best) {
				best, have = x, true
			}
		}
		if !have {
			return missing
		}
		return numVal(best)
	case fBin:
		if !r.hasEv {
			return missing
		}
		return timeVal(floorTime(r.ev.Timestamp, e.args[0].period))
	case fDatefloor, fDateceil:
		x, ok := eval(e.args[0], r).num()
		if !ok {
			return missing
		}
		ms := toMillis(x)
		if e.fn == fDatefloor {
			return timeVal(floorTime(ms, e.args[1].period))
		}
		return timeVal(ceilTime(ms, e.args[1].period))
	}

	// The remaining functions take a present first argument.
	v := eval(e.args[0], r)
	if v.k == kMissing {
		return missing
	}
	switch e.fn {
	case fStrlen:
		return numVal(float64(utf8.RuneCountInString(v.String())))
	case fToUpper:
		return strVal(strings.ToUpper(v.String()))
	case fToLower:
		return strVal(strings.ToLower(v.String()))
	case fLtrim, fRtrim, fTrim:
		return strVal(trim(e, r, v.String()))
	case fSubstr:
		return strVal(substr(e, r, v.String()))
	case fReplace:
		old, nw := eval(e.args[1], r), eval(e.args[2], r)
		if old.k == kMissing || nw.k == kMissing {
			return missing
		}
		return strVal(strings.ReplaceAll(v.String(), old.String(), nw.String()))
	case fStrcontains:
		sub := eval(e.args[1], r)
		if sub.k == kMissing {
			return missing
		}
		if strings.Contains(v.String(), sub.String()) {
			return numVal(1)
		}
		return numVal(0)
	case fToMillis:
		x, ok := v.num()
		if !ok {
			return missing
		}
		return numVal(x)
	case fFromMillis:
		x, ok := v.num()
		if !ok {
			return missing
		}
		return timeVal(toMillis(x))
	}
	x, ok := v.num()
	if !ok {
		return missing
	}
	switch e.fn {
	case fAbs:
		return numVal(math.Abs(x))
	case fCeil:
		return numVal(math.Ceil(x))
	case fFloor:
		return numVal(math.Floor(x))
	case fLog:
		return numVal(math.Log(x))
	case fSqrt:
		return numVal(math.Sqrt(x))
	}
	return missing
}

func trim(e *expr, r *record, s string) string {
	if len(e.args) == 1 {
		switch e.fn {
		case fLtrim:
			return strings.TrimLeftFunc(s, unicode.IsSpace)
		case fRtrim:
			return strings.TrimRightFunc(s, unicode.IsSpace)
		}
		return strings.TrimSpace(s)
	}
	// AWS: the second argument is a set of characters to strip,
	// e.g. trim("xyZfooxyZ","xyZ") is "foo".
	cut := eval(e.args[1], r).String()
	switch e.fn {
	case fLtrim:
		return strings.TrimLeft(s, cut)
	case fRtrim:
		return strings.TrimRight(s, cut)
	}
	return strings.Trim(s, cut)
}

// substr is code-point based and 0-indexed: substr("xyZfooxyZ",3,3) is "foo".
func substr(e *expr, r *record, s string) string {
	runes := []rune(s)
	x, ok := eval(e.args[1], r).num()
	if !ok {
		return ""
	}
	start := clampInt(x, 0, len(runes))
	end := len(runes)
	if len(e.args) == 3 {
		n, ok := eval(e.args[2], r).num()
		if !ok {
			return ""
		}
		end = start + clampInt(n, 0, len(runes)-start)
	}
	return string(runes[start:end])
}
