package insights

import (
	"slices"
	"strings"
	"unicode"
)

// defaultLimit is the row cap when the query has no limit command.
// AWS: "If you omit limit, the query will return as many as 10,000 log events".
const defaultLimit = 10000

type stepKind uint8

const (
	stepFilter stepKind = iota
	stepParse
	stepFields
)

// step is one per-row pipeline stage after compilation.
type step struct {
	kind   stepKind
	cond   *expr
	assign []assign
	parse  *parseCmd
	slots  []int // parse: slot of each parse output
}

type assign struct {
	slot int
	e    *expr
}

type column struct {
	name string
	ref  *expr
}

// plan is the executable form of a query.
type plan struct {
	pre    []step // per-event stages (all of them when there is no stats)
	nslots int
	cols   []column // non-stats result columns
	sort   []sortKey
	limit  int
	stats  *statsPlan
}

type statsPlan struct {
	aggs   []*expr // aggregate calls, indexed by expr.aggIdx
	by     []namedExpr
	items  []namedExpr
	post   []step // stages applied to aggregated rows
	nslots int
	cols   []column
	sort   []sortKey
}

// scope assigns slots to the fields a query defines (parse outputs, fields
// aliases and computed fields).
type scope map[string]int

func (s scope) define(name string) int {
	if i, ok := s[name]; ok {
		return i
	}
	s[name] = len(s)
	return s[name]
}

type compiler struct {
	p *parser // for errors and names
}

func (c *compiler) compile(cmds []command) *plan {
	si := -1
	for i, cmd := range cmds {
		if _, ok := cmd.(*statsCmd); ok {
			if si >= 0 {
				// UNVERIFIED: AWS now supports several stats commands; we
				// support one.
				c.p.fail(cmd.cmdPos(), cmd.cmdPos()+len("stats"), "only one stats command is supported")
			}
			si = i
		}
	}
	pl := &plan{limit: defaultLimit}
	pre := cmds
	if si >= 0 {
		pre = cmds[:si]
	}
	sc := scope{}
	pl.pre = c.steps(pre, sc, nil, si >= 0)
	pl.nslots = len(sc)
	if si < 0 {
		// @ptr is appended to every row anyway; do not list it twice.
		pl.cols = slices.DeleteFunc(c.columns(pre, nil, sc), func(col column) bool { return col.name == "@ptr" })
		pl.sort, pl.limit = lastSort(pre), c.limitOf(pre)
		return pl
	}
	pl.stats = c.stats(cmds[si].(*statsCmd), cmds[si+1:], sc)
	pl.sort, pl.limit = pl.stats.sort, c.limitOf(cmds[si+1:])
	return pl
}

// steps compiles per-row commands. Display, sort and limit produce no step;
// they are collected separately. statsCols is non-nil after stats: the names
// of the aggregated columns. beforeStats rejects sort/limit ahead of stats.
func (c *compiler) steps(cmds []command, sc scope, statsCols []string, beforeStats bool) []step {
	// Define every name first: a reference evaluated before its defining
	// command finds the slot unset and falls back to the event's own field.
	for _, cmd := range cmds {
		switch cmd := cmd.(type) {
		case *parseCmd:
			for _, n := range cmd.names {
				sc.define(n)
			}
		case *fieldsCmd:
			for _, it := range cmd.items {
				if it.alias || it.e.op != opRef {
					sc.define(it.name)
				}
			}
		}
	}
	var out []step
	for _, cmd := range cmds {
		switch cmd := cmd.(type) {
		case *filterCmd:
			c.resolve(cmd.cond, sc, statsCols)
			out = append(out, step{kind: stepFilter, cond: cmd.cond})
		case *parseCmd:
			c.resolve(cmd.src, sc, statsCols)
			st := step{kind: stepParse, parse: cmd}
			for _, n := range cmd.names {
				st.slots = append(st.slots, sc[n])
			}
			out = append(out, st)
		case *fieldsCmd:
			st := step{kind: stepFields}
			for _, it := range cmd.items {
				c.resolve(it.e, sc, statsCols)
				if it.alias || it.e.op != opRef {
					st.assign = append(st.assign, assign{slot: sc[it.name], e: it.e})
				}
			}
			if len(st.assign) > 0 {
				out = append(out, st)
			}
		case *displayCmd:
			for _, n := range cmd.names {
				c.resolve(n.e, sc, statsCols)
			}
		case *sortCmd:
			if beforeStats {
				c.p.fail(cmd.pos, cmd.pos+len("sort"), "sort must come after stats")
			}
			for _, k := range cmd.keys {
				c.resolve(k.e, sc, statsCols)
			}
		case *limitCmd:
			if beforeStats {
				c.p.fail(cmd.pos, cmd.pos+len("limit"), "limit must come after stats")
			}
		}
	}
	return out
}

// resolve binds field references to slots and checks aggregate placement:
// an aggregate outside stats is an error unless it names a stats column.
func (c *compiler) resolve(e *expr, sc scope, statsCols []string) {
	walk(e, func(x *expr) bool {
		if x.op == opRef {
			bindRef(x, sc)
			return false
		}
		// After stats, an expression written like a stats column
		// (count(*), bin(5m)) refers to that column.
		if x.op != opLit {
			text := c.p.src[x.pos:x.end]
			for _, col := range statsCols {
				if sameExprText(col, text) {
					*x = expr{op: opRef, name: col, slot: -1, pos: x.pos, end: x.end}
					bindRef(x, sc)
					return false
				}
			}
		}
		if x.op == opAgg {
			c.p.fail(x.pos, x.end, "aggregate function %s can only be used in stats", x.name)
		}
		return true
	})
}

func bindRef(x *expr, sc scope) {
	x.slot = -1
	if i, ok := sc[x.name]; ok {
		x.slot = i
	}
	x.sys = sysFields[x.name]
}

// sameExprText compares expression texts ignoring blanks and letter case.
func sameExprText(a, b string) bool {
	strip := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return -1
			}
			return r
		}, s)
	}
	return strings.EqualFold(strip(a), strip(b))
}

// columns lists the result columns: the last display command if any, else
// every fields item in order, else AWS's default of @timestamp and @message.
// UNVERIFIED: with neither fields nor display, AWS documents that results
// "show the @timestamp and all log data in the @message field"; whether the
// API adds other discovered fields is not documented.
func (c *compiler) columns(cmds []command, base []string, sc scope) []column {
	var names []string
	var display *displayCmd
	for _, cmd := range cmds {
		switch cmd := cmd.(type) {
		case *fieldsCmd:
			for _, it := range cmd.items {
				names = append(names, it.name)
			}
		case *displayCmd:
			display = cmd
		}
	}
	switch {
	case display != nil:
		names = names[:0]
		for _, n := range display.names {
			names = append(names, n.name)
		}
	case base != nil:
		names = append(append([]string(nil), base...), names...)
	case len(names) == 0:
		names = []string{"@timestamp", "@message"}
	}
	var cols []column
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		ref := &expr{op: opRef, name: n}
		bindRef(ref, sc)
		cols = append(cols, column{name: n, ref: ref})
	}
	return cols
}

// lastSort returns the keys of the last sort command; a later sort replaces
// an earlier one, as does a later limit.
func lastSort(cmds []command) []sortKey {
	var keys []sortKey
	for _, cmd := range cmds {
		if s, ok := cmd.(*sortCmd); ok {
			keys = s.keys
		}
	}
	return keys
}

func (c *compiler) limitOf(cmds []command) int {
	n := defaultLimit
	for _, cmd := range cmds {
		if l, ok := cmd.(*limitCmd); ok {
			n = l.n
		}
	}
	return n
}

func (c *compiler) stats(st *statsCmd, post []command, sc scope) *statsPlan {
	sp := &statsPlan{by: st.by, items: st.items}
	for _, b := range st.by {
		c.resolve(b.e, sc, nil) // rejects aggregates in by
	}
	// Names a stats item may use outside an aggregate: earlier items.
	known := map[string]bool{}
	for _, it := range st.items {
		c.statsItem(it.e, sc, known, sp)
		known[it.name] = true
	}
	var cols []string
	for _, b := range st.by {
		cols = append(cols, b.name)
	}
	for _, it := range st.items {
		cols = append(cols, it.name)
	}
	psc := scope{}
	sp.post = c.steps(post, psc, cols, false)
	sp.nslots = len(psc)
	// UNVERIFIED: group-by columns come before the aggregates in each row,
	// as the console shows them.
	sp.cols = c.columns(post, cols, psc)
	sp.sort = lastSort(post)
	return sp
}

// statsItem assigns accumulators to the aggregate calls of a stats item.
// Field references inside an aggregate read the event; outside one they may
// only name an earlier stats item (stats sum(x) as a, count(*) as b, a/b).
func (c *compiler) statsItem(e *expr, sc scope, known map[string]bool, sp *statsPlan) {
	var visit func(x *expr, inAgg bool)
	visit = func(x *expr, inAgg bool) {
		switch x.op {
		case opAgg:
			if inAgg {
				c.p.fail(x.pos, x.end, "aggregate functions cannot be nested")
			}
			x.aggIdx = len(sp.aggs)
			sp.aggs = append(sp.aggs, x)
			for _, a := range x.args {
				visit(a, true)
			}
			return
		case opRef:
			if inAgg {
				bindRef(x, sc)
				return
			}
			if !known[x.name] {
				c.p.fail(x.pos, x.end, "field %s must be used inside an aggregate function", x.name)
			}
			x.slot, x.sys = -1, sysNone // read from the aggregated row
			return
		case opCall:
			if x.fn == fBin && !inAgg {
				c.p.fail(x.pos, x.end, "bin can only be used in the by clause of stats")
			}
		}
		for _, a := range x.args {
			visit(a, inAgg)
		}
	}
	visit(e, false)
}
