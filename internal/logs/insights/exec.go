package insights

import (
	"container/heap"
	"slices"
)

// Event is one log event as stored by CloudWatch Logs.
type Event struct {
	Timestamp     int64 // ms since epoch
	IngestionTime int64 // ms since epoch
	Message       string
	LogStream     string
	Log           string // "<account id>:<log group name>", as AWS's @log
	Ptr           string // opaque pointer the caller can resolve (GetLogRecord); emitted as @ptr
}

// Field is one field of a result row, as in GetQueryResults' ResultField.
type Field struct{ Name, Value string }

// Statistics mirrors GetQueryResults' QueryStatistics.
type Statistics struct{ RecordsMatched, RecordsScanned, BytesScanned float64 }

// Query is a compiled query. It is immutable and safe for concurrent use;
// each execution needs its own Executor.
type Query struct {
	src  string
	plan *plan
}

// Parse compiles a query. A syntax error is a *SyntaxError.
func Parse(query string) (q *Query, err error) {
	toks, serr := lex(query)
	if serr != nil {
		return nil, serr
	}
	p := &parser{src: query, toks: toks}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseErr)
			if !ok {
				panic(r)
			}
			q, err = nil, pe.err
		}
	}()
	cmds := p.query() // the AST
	pl := (&compiler{p: p}).compile(cmds)
	return &Query{src: query, plan: pl}, nil
}

// String returns the query text.
func (q *Query) String() string { return q.src }

// HasStats reports whether the query aggregates (its rows carry no @ptr).
func (q *Query) HasStats() bool { return q.plan.stats != nil }

// Limit is the maximum number of rows the query returns: its limit command,
// or AWS's default of 10,000.
func (q *Query) Limit() int { return q.plan.limit }

// Executor runs a query incrementally: feed events (in any order) with Add,
// then Result. It is not safe for concurrent use.
type Executor struct {
	q     *Query
	pl    *plan
	rec   *record
	stats Statistics
	seq   int64

	// Non-stats without sort: the first rows, in arrival order.
	rows [][]Field
	// Non-stats with sort: the best rows so far in a bounded heap whose root
	// is the worst kept row, so a million events cost O(n log limit).
	top     rowHeap
	keysBuf []value

	// Stats: one accumulator set per group.
	groups map[string]*group
	order  []*group
	keyBuf []byte
	byBuf  []value
}

type group struct {
	by   []value
	aggs []aggState
}

// NewExecutor starts an execution of the query.
func (q *Query) NewExecutor() *Executor {
	x := &Executor{q: q, pl: q.plan, rec: newRecord(q.plan.nslots)}
	if st := q.plan.stats; st != nil {
		x.groups = make(map[string]*group)
		x.byBuf = make([]value, len(st.by))
	} else if len(q.plan.sort) > 0 {
		x.top.keys = q.plan.sort
		x.keysBuf = make([]value, len(q.plan.sort))
	}
	return x
}

// Add feeds one event.
func (x *Executor) Add(ev Event) {
	x.stats.RecordsScanned++
	// UNVERIFIED: AWS's bytesScanned counts more than the message bytes.
	x.stats.BytesScanned += float64(len(ev.Message))
	r := x.rec
	r.reset(ev)
	if !runSteps(x.pl.pre, r) {
		return
	}
	x.stats.RecordsMatched++
	switch {
	case x.pl.stats != nil:
		x.addToGroup(r)
	case len(x.pl.sort) == 0:
		// Without sort the first rows win; later events are only counted.
		// UNVERIFIED: AWS's row order without sort is unspecified; we keep
		// arrival order.
		if len(x.rows) < x.pl.limit {
			x.rows = append(x.rows, x.materialize(r))
		}
	default:
		x.addSorted(r)
	}
}

// runSteps applies per-row stages; false means the row was filtered out.
func runSteps(steps []step, r *record) bool {
	for i := range steps {
		s := &steps[i]
		switch s.kind {
		case stepFilter:
			if !eval(s.cond, r).truthy() {
				return false
			}
		case stepFields:
			for _, a := range s.assign {
				r.set(a.slot, eval(a.e, r))
			}
		case stepParse:
			// AWS: "If a log event doesn't match the specified pattern, you
			// still see it in the results, but without the extracted fields."
			src := eval(s.parse.src, r)
			if src.k == kMissing {
				continue
			}
			str := src.String()
			m := s.parse.re.FindStringSubmatchIndex(str)
			if m == nil {
				continue
			}
			for j, g := range s.parse.group {
				if m[2*g] >= 0 {
					r.set(s.slots[j], strVal(str[m[2*g]:m[2*g+1]]))
				}
			}
		}
	}
	return true
}

// materialize renders the result row of an event: the selected fields that
// are present, in column order, then @ptr last.
// Absent fields are omitted rather than returned empty, as GetQueryResults
// does (a row for an event without the requested fields holds only @ptr).
func (x *Executor) materialize(r *record) []Field {
	row := make([]Field, 0, len(x.pl.cols)+1)
	for _, c := range x.pl.cols {
		if v := r.lookup(c.ref); v.k != kMissing {
			row = append(row, Field{Name: c.name, Value: v.String()})
		}
	}
	return append(row, Field{Name: "@ptr", Value: r.ev.Ptr})
}

// addSorted offers an event to the bounded heap. A kept row stores the event
// and its query-defined fields rather than formatted output: with input in
// the opposite order to the sort every event displaces the root, so the row
// evicted is recycled and formatting waits for Result.
func (x *Executor) addSorted(r *record) {
	for i, k := range x.pl.sort {
		x.keysBuf[i] = eval(k.e, r)
	}
	x.seq++
	var row *sortedRow
	if len(x.top.rows) < x.pl.limit {
		row = &sortedRow{keys: make([]value, len(x.keysBuf))}
	} else {
		cand := sortedRow{keys: x.keysBuf, seq: x.seq}
		if !x.top.less(&cand, x.top.rows[0]) {
			return
		}
		row = x.top.rows[0]
	}
	// Key strings may point into the message; the row keeps the event, so
	// nothing extra is pinned.
	copy(row.keys, x.keysBuf)
	row.seq = x.seq
	row.ev = r.ev
	if n := len(r.slots); n > 0 {
		if row.slots == nil {
			row.slots, row.set = make([]value, n), make([]bool, n)
		}
		copy(row.slots, r.slots)
		for i := range row.set {
			row.set[i] = r.setGen[i] == r.gen
		}
	}
	if len(x.top.rows) < x.pl.limit {
		heap.Push(&x.top, row)
	} else {
		heap.Fix(&x.top, 0)
	}
}

func (x *Executor) addToGroup(r *record) {
	st := x.pl.stats
	key := x.keyBuf[:0]
	for i, b := range st.by {
		v := eval(b.e, r)
		x.byBuf[i] = v
		key = appendKey(key, v)
	}
	x.keyBuf = key
	g := x.groups[string(key)] // no allocation for the lookup
	if g == nil {
		g = &group{by: make([]value, len(st.by)), aggs: make([]aggState, len(st.aggs))}
		for i, v := range x.byBuf {
			g.by[i] = v.detach()
		}
		x.groups[string(key)] = g
		x.order = append(x.order, g)
	}
	for i, a := range st.aggs {
		g.aggs[i].update(a, r)
	}
}

// Result returns the rows so far and the statistics. It can be called more
// than once (partial results while events are still being added).
func (x *Executor) Result() ([][]Field, Statistics) {
	switch {
	case x.pl.stats != nil:
		return x.statsResult(), x.stats
	case len(x.pl.sort) == 0:
		return slices.Clone(x.rows), x.stats
	}
	rows := slices.Clone(x.top.rows)
	slices.SortFunc(rows, func(a, b *sortedRow) int {
		if x.top.less(a, b) {
			return -1
		}
		if x.top.less(b, a) {
			return 1
		}
		return 0
	})
	out := make([][]Field, len(rows))
	rec := newRecord(x.pl.nslots)
	for i, row := range rows {
		rec.reset(row.ev)
		for j, set := range row.set {
			if set {
				rec.set(j, row.slots[j])
			}
		}
		out[i] = x.materialize(rec)
	}
	return out, x.stats
}

func (x *Executor) statsResult() [][]Field {
	st := x.pl.stats
	groups := x.order
	if len(st.by) == 0 && len(groups) == 0 {
		// stats without by always yields one row, even over no events.
		// UNVERIFIED: AWS may return no rows instead.
		groups = []*group{{aggs: make([]aggState, len(st.aggs))}}
	}
	type statsRow struct {
		rec  *record
		keys []value
		seq  int
	}
	rows := make([]statsRow, 0, len(groups))
	for gi, g := range groups {
		r := newRecord(st.nslots)
		r.named = make(map[string]value, len(st.by)+len(st.items))
		for i, b := range st.by {
			r.named[b.name] = g.by[i]
		}
		r.aggs = make([]value, len(st.aggs))
		for i, a := range st.aggs {
			r.aggs[i] = g.aggs[i].result(a)
		}
		for _, it := range st.items {
			r.named[it.name] = eval(it.e, r)
		}
		if !runSteps(st.post, r) {
			continue
		}
		row := statsRow{rec: r, seq: gi}
		for _, k := range st.sort {
			row.keys = append(row.keys, eval(k.e, r))
		}
		rows = append(rows, row)
	}
	if len(st.sort) > 0 {
		slices.SortStableFunc(rows, func(a, b statsRow) int {
			for i, k := range st.sort {
				if c := sortCompare(a.keys[i], b.keys[i], k.desc); c != 0 {
					return c
				}
			}
			return a.seq - b.seq
		})
	} else {
		// Events arrive in any order, so first-seen order is arbitrary;
		// order groups by their by values instead (bins chronologically).
		// UNVERIFIED: AWS's row order for stats without sort.
		slices.SortStableFunc(rows, func(a, b statsRow) int {
			ga, gb := groups[a.seq], groups[b.seq]
			for i := range ga.by {
				if c := sortCompare(ga.by[i], gb.by[i], false); c != 0 {
					return c
				}
			}
			return 0
		})
	}
	out := make([][]Field, 0, min(len(rows), x.pl.limit))
	for _, row := range rows {
		if len(out) == x.pl.limit {
			break
		}
		fields := make([]Field, 0, len(st.cols))
		for _, c := range st.cols {
			if v := row.rec.lookup(c.ref); v.k != kMissing {
				fields = append(fields, Field{Name: c.name, Value: v.String()})
			}
		}
		// A group whose columns are all absent (say avg over a group
		// without values, keyed by a missing field) has nothing to show.
		// UNVERIFIED: AWS's handling of such rows.
		if len(fields) > 0 {
			out = append(out, fields)
		}
	}
	return out
}

// sortedRow is a candidate row for a sorted, limited result.
type sortedRow struct {
	keys  []value
	seq   int64 // arrival order breaks ties, for a deterministic result
	ev    Event
	slots []value // query-defined fields of the event
	set   []bool
}

// rowHeap is a max-heap under the sort order: its root is the row that
// would be dropped first.
type rowHeap struct {
	keys []sortKey
	rows []*sortedRow
}

func (h *rowHeap) less(a, b *sortedRow) bool {
	for i, k := range h.keys {
		if c := sortCompare(a.keys[i], b.keys[i], k.desc); c != 0 {
			return c < 0
		}
	}
	return a.seq < b.seq
}

func (h *rowHeap) Len() int           { return len(h.rows) }
func (h *rowHeap) Less(i, j int) bool { return h.less(h.rows[j], h.rows[i]) }
func (h *rowHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(v any)         { h.rows = append(h.rows, v.(*sortedRow)) }
func (h *rowHeap) Pop() any {
	v := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return v
}
