package insights

import "regexp"

// opKind is the operator of an expression node.
type opKind uint8

const (
	opLit opKind = iota
	opRef
	opNeg
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opPow
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAnd
	opOr
	opNot
	opLike   // substring (pattern) or regex (re) match; also =~
	opIn     // membership in list
	opCall   // scalar function
	opAgg    // aggregate function (stats only)
	opPeriod // a period literal such as 5m, only as a function argument
)

// sysField identifies the fields CloudWatch generates for every event.
type sysField uint8

const (
	sysNone sysField = iota
	sysTimestamp
	sysMessage
	sysLogStream
	sysLog
	sysIngestionTime
	sysPtr
)

var sysFields = map[string]sysField{
	"@timestamp":     sysTimestamp,
	"@message":       sysMessage,
	"@logStream":     sysLogStream,
	"@log":           sysLog,
	"@ingestionTime": sysIngestionTime,
	"@ptr":           sysPtr,
}

// expr is an expression node. One struct for all node kinds keeps the
// evaluator a single switch with no interface dispatch on the hot path.
type expr struct {
	op   opKind
	lit  value  // opLit
	name string // opRef: field name; opCall/opAgg: function name
	slot int    // opRef: slot of a query-defined field, or -1
	sys  sysField

	args []*expr // operands / call arguments

	// opLike: exactly one of re or pattern is used.
	re      *regexp.Regexp
	pattern string
	negate  bool    // not like / not in
	list    []value // opIn

	fn     funcKind
	agg    aggKind
	aggIdx int     // opAgg: accumulator index, assigned at compile time
	pct    float64 // opAgg pct: percentile
	star   bool    // count(*)
	period period  // opPeriod

	pos, end int // byte range in the query, for names and errors
}

// command is one pipeline stage of the AST.
type command interface{ cmdPos() int }

type namedExpr struct {
	e     *expr
	name  string // alias, or the expression's source text
	alias bool
}

type fieldsCmd struct {
	pos   int
	items []namedExpr
}

type displayCmd struct {
	pos   int
	names []namedExpr // plain field references
}

type filterCmd struct {
	pos  int
	cond *expr
}

type parseCmd struct {
	pos   int
	src   *expr // field to parse; @message when omitted
	re    *regexp.Regexp
	names []string // output fields, in capture-group order
	group []int    // capture group index for each name
	glob  bool
}

type statsCmd struct {
	pos   int
	items []namedExpr
	by    []namedExpr
}

type sortKey struct {
	e    *expr
	desc bool
}

type sortCmd struct {
	pos  int
	keys []sortKey
}

type limitCmd struct {
	pos int
	n   int
}

func (c *fieldsCmd) cmdPos() int  { return c.pos }
func (c *displayCmd) cmdPos() int { return c.pos }
func (c *filterCmd) cmdPos() int  { return c.pos }
func (c *parseCmd) cmdPos() int   { return c.pos }
func (c *statsCmd) cmdPos() int   { return c.pos }
func (c *sortCmd) cmdPos() int    { return c.pos }
func (c *limitCmd) cmdPos() int   { return c.pos }

// walk visits e and its descendants depth-first.
func walk(e *expr, f func(*expr) bool) {
	if e == nil || !f(e) {
		return
	}
	for _, a := range e.args {
		walk(a, f)
	}
}
