package insights

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxDepth bounds expression nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

// maxLimit is the largest `limit` accepted. AWS documents 10,000 as the
// default and, in current guides, up to 100,000 as the maximum.
const maxLimit = 100000

// commandNames are the commands this package implements.
var commandNames = map[string]bool{
	"fields": true, "display": true, "filter": true, "parse": true,
	"stats": true, "sort": true, "limit": true,
}

// unsupportedCommands are AWS commands outside the supported subset; they get
// a clear error instead of a generic one.
var unsupportedCommands = map[string]bool{
	"dedup": true, "unnest": true, "lookup": true, "pattern": true, "diff": true,
	"anomaly": true, "unmask": true, "filterindex": true, "source": true,
	"head": true, "tail": true, "join": true, "countfrequent": true,
	"count_frequent": true, "fieldssummary": true, "addtotals": true,
}

// reserved words cannot be bare field names inside expressions.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "like": true, "in": true,
	"as": true, "by": true, "asc": true, "desc": true,
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// parseErr carries a SyntaxError out of the recursive descent; Parse
// recovers it and re-panics anything else.
type parseErr struct{ err *SyntaxError }

func (p *parser) fail(pos, end int, format string, args ...any) {
	msg := ""
	if format != "" {
		msg = fmt.Sprintf(format, args...)
	}
	panic(parseErr{newSyntaxError(p.src, pos, end, msg)})
}

func (p *parser) unexpected(t token) { p.fail(t.pos, t.end, "") }

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) expect(k tokKind) token {
	t := p.next()
	if t.kind != k {
		p.unexpected(t)
	}
	return t
}

func isKw(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.val, kw) }

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		t := p.peek()
		p.fail(t.pos, t.end, "expression is nested too deeply")
	}
}

func (p *parser) leave() { p.depth-- }

// query := command (('|' | newline) command)*
func (p *parser) query() []command {
	if p.peek().kind == tEOF {
		p.fail(0, 0, "query is empty")
	}
	var cmds []command
	for {
		cmds = append(cmds, p.command())
		t := p.peek()
		switch {
		case t.kind == tEOF:
			return cmds
		case t.kind == tPipe:
			p.next()
		case t.nl && t.kind == tIdent && (commandNames[strings.ToLower(t.val)] || unsupportedCommands[strings.ToLower(t.val)]):
			// Extension: a command keyword at the start of a line also
			// starts a new command. UNVERIFIED: AWS requires '|'.
		default:
			p.unexpected(t)
		}
	}
}

func (p *parser) command() command {
	t := p.next()
	if t.kind != tIdent {
		p.unexpected(t)
	}
	name := strings.ToLower(t.val)
	switch name {
	case "fields":
		return &fieldsCmd{pos: t.pos, items: p.namedList(true)}
	case "display":
		return p.display(t)
	case "filter":
		return &filterCmd{pos: t.pos, cond: p.expr()}
	case "parse":
		return p.parse(t)
	case "stats":
		c := &statsCmd{pos: t.pos, items: p.namedList(true)}
		if isKw(p.peek(), "by") {
			p.next()
			c.by = p.namedList(true)
		}
		return c
	case "sort":
		return p.sort(t)
	case "limit":
		n := p.next()
		if n.kind != tNumber {
			p.unexpected(n)
		}
		v, err := strconv.Atoi(n.text)
		if err != nil || v < 1 || v > maxLimit {
			p.fail(n.pos, n.end, "limit must be an integer between 1 and %d", maxLimit)
		}
		return &limitCmd{pos: t.pos, n: v}
	}
	if unsupportedCommands[name] {
		p.fail(t.pos, t.end, "unsupported command %s", t.val)
	}
	p.unexpected(t)
	return nil
}

// namedList := expr ['as' name] (',' expr ['as' name])*
func (p *parser) namedList(allowAlias bool) []namedExpr {
	var items []namedExpr
	for {
		e := p.expr()
		ne := namedExpr{e: e, name: p.exprName(e)}
		if allowAlias && isKw(p.peek(), "as") {
			p.next()
			ne.name, ne.alias = p.ident(), true
		}
		items = append(items, ne)
		if p.peek().kind != tComma {
			return items
		}
		p.next()
	}
}

// exprName is the result column name of an unaliased expression: the field
// name for a field, otherwise the expression text as written.
// UNVERIFIED: AWS names unaliased expression columns by their source text.
func (p *parser) exprName(e *expr) string {
	if e.op == opRef {
		return e.name
	}
	return strings.TrimSpace(p.src[e.pos:e.end])
}

func (p *parser) ident() string {
	t := p.next()
	if t.kind != tIdent && t.kind != tQIdent {
		p.unexpected(t)
	}
	return t.val
}

func (p *parser) display(kw token) command {
	c := &displayCmd{pos: kw.pos}
	for {
		t := p.next()
		if t.kind != tIdent && t.kind != tQIdent || t.kind == tIdent && reserved[strings.ToLower(t.val)] {
			p.unexpected(t)
		}
		c.names = append(c.names, namedExpr{e: refExpr(t), name: t.val})
		if p.peek().kind != tComma {
			return c
		}
		p.next()
	}
}

func refExpr(t token) *expr {
	return &expr{op: opRef, name: t.val, slot: -1, pos: t.pos, end: t.end}
}

// parse := 'parse' [field] ( "glob" 'as' names | /regex/ )
func (p *parser) parse(kw token) command {
	c := &parseCmd{pos: kw.pos}
	t := p.peek()
	if t.kind == tIdent || t.kind == tQIdent {
		if t.kind == tIdent && reserved[strings.ToLower(t.val)] {
			p.unexpected(t)
		}
		p.next()
		c.src = refExpr(t)
	} else {
		// AWS: "If fieldName is omitted, @message is used by default."
		c.src = &expr{op: opRef, name: "@message", slot: -1, pos: kw.pos, end: kw.end}
	}
	pat := p.next()
	switch pat.kind {
	case tString:
		c.glob = true
		stars := strings.Count(pat.val, "*")
		if !isKw(p.peek(), "as") {
			p.unexpected(p.peek())
		}
		p.next()
		for {
			c.names = append(c.names, p.ident())
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
		if stars != len(c.names) {
			p.fail(pat.pos, pat.end, "the number of wildcards (%d) in the parse pattern does not match the number of fields (%d)", stars, len(c.names))
		}
		c.re = regexp.MustCompile(globRegex(pat.val))
		for i := range c.names {
			c.group = append(c.group, i+1)
		}
	case tRegex:
		re, err := regexp.Compile(pat.val)
		if err != nil {
			p.fail(pat.pos, pat.end, "invalid regular expression: %v", err)
		}
		c.re = re
		for i, n := range re.SubexpNames() {
			if n != "" {
				c.names = append(c.names, n)
				c.group = append(c.group, i)
			}
		}
		if len(c.names) == 0 {
			p.fail(pat.pos, pat.end, "parse regular expression must contain a named capture group (?<name>...)")
		}
	default:
		p.unexpected(pat)
	}
	return c
}

// globRegex turns a parse glob into a regex: literal text is quoted, each '*'
// is a lazy capture, except a trailing '*' which takes the rest of the line.
// The pattern may match anywhere in the field.
// UNVERIFIED: AWS's exact glob matching (anchoring, greediness, newlines).
func globRegex(glob string) string {
	parts := strings.Split(glob, "*")
	var b strings.Builder
	for i, part := range parts {
		// Invalid UTF-8 cannot appear in a regex; the engine reads such
		// input bytes as U+FFFD, so match that instead.
		b.WriteString(regexp.QuoteMeta(strings.ToValidUTF8(part, "\uFFFD")))
		if i == len(parts)-1 {
			break
		}
		if i == len(parts)-2 && parts[len(parts)-1] == "" {
			b.WriteString("(.*)")
		} else {
			b.WriteString("(.*?)")
		}
	}
	return b.String()
}

func (p *parser) sort(kw token) command {
	c := &sortCmd{pos: kw.pos}
	for {
		k := sortKey{e: p.expr()}
		// UNVERIFIED: the default direction when neither asc nor desc is given.
		if isKw(p.peek(), "asc") {
			p.next()
		} else if isKw(p.peek(), "desc") {
			p.next()
			k.desc = true
		}
		c.keys = append(c.keys, k)
		if p.peek().kind != tComma {
			return c
		}
		p.next()
	}
}

// Expressions, lowest precedence first:
//   or, and, not, comparison/like/in, + -, * / %, ^, unary -, primary.

func (p *parser) expr() *expr {
	p.enter()
	defer p.leave()
	l := p.and()
	for isKw(p.peek(), "or") {
		p.next()
		l = binary(opOr, l, p.and())
	}
	return l
}

func (p *parser) and() *expr {
	l := p.not()
	for isKw(p.peek(), "and") {
		p.next()
		l = binary(opAnd, l, p.not())
	}
	return l
}

func (p *parser) not() *expr {
	t := p.peek()
	if isKw(t, "not") {
		p.enter()
		defer p.leave()
		p.next()
		x := p.not()
		return &expr{op: opNot, args: []*expr{x}, pos: t.pos, end: x.end}
	}
	return p.comparison()
}

func binary(op opKind, l, r *expr) *expr {
	return &expr{op: op, args: []*expr{l, r}, pos: l.pos, end: r.end}
}

var cmpOps = map[tokKind]opKind{tEq: opEq, tNe: opNe, tLt: opLt, tLe: opLe, tGt: opGt, tGe: opGe}

func (p *parser) comparison() *expr {
	l := p.additive()
	t := p.peek()
	if op, ok := cmpOps[t.kind]; ok {
		p.next()
		return binary(op, l, p.additive())
	}
	if t.kind == tMatch {
		p.next()
		return p.likeRHS(l, false)
	}
	switch {
	case isKw(t, "like"):
		p.next()
		return p.likeRHS(l, false)
	case isKw(t, "in"):
		p.next()
		return p.inRHS(l, false)
	case isKw(t, "not") && isKw(p.peekAt(1), "like"):
		p.next()
		p.next()
		return p.likeRHS(l, true)
	case isKw(t, "not") && isKw(p.peekAt(1), "in"):
		p.next()
		p.next()
		return p.inRHS(l, true)
	}
	return l
}

// likeRHS: a quoted string is a case-sensitive substring match, /regex/ a
// regex search (AWS: `like` and `=~` both accept either).
func (p *parser) likeRHS(l *expr, negate bool) *expr {
	t := p.next()
	e := &expr{op: opLike, args: []*expr{l}, negate: negate, pos: l.pos, end: t.end}
	switch t.kind {
	case tString:
		e.pattern = t.val
	case tRegex:
		re, err := regexp.Compile(t.val)
		if err != nil {
			p.fail(t.pos, t.end, "invalid regular expression: %v", err)
		}
		e.re = re
	default:
		p.unexpected(t)
	}
	return e
}

// inRHS := '[' literal (',' literal)* ']'
func (p *parser) inRHS(l *expr, negate bool) *expr {
	p.expect(tLBrack)
	e := &expr{op: opIn, args: []*expr{l}, negate: negate, pos: l.pos}
	for {
		t := p.next()
		switch t.kind {
		case tString:
			e.list = append(e.list, strVal(t.val))
		case tNumber:
			e.list = append(e.list, numVal(p.number(t)))
		case tMinus:
			n := p.expect(tNumber)
			e.list = append(e.list, numVal(-p.number(n)))
		default:
			p.unexpected(t)
		}
		t = p.next()
		if t.kind == tRBrack {
			e.end = t.end
			return e
		}
		if t.kind != tComma {
			p.unexpected(t)
		}
	}
}

func (p *parser) number(t token) float64 {
	f, ok := parseNumber(t.text)
	if !ok {
		p.unexpected(t)
	}
	return f
}

func (p *parser) additive() *expr {
	l := p.multiplicative()
	for {
		switch p.peek().kind {
		case tPlus:
			p.next()
			l = binary(opAdd, l, p.multiplicative())
		case tMinus:
			p.next()
			l = binary(opSub, l, p.multiplicative())
		default:
			return l
		}
	}
}

func (p *parser) multiplicative() *expr {
	l := p.unary()
	for {
		switch p.peek().kind {
		case tStar:
			p.next()
			l = binary(opMul, l, p.unary())
		case tSlash:
			p.next()
			l = binary(opDiv, l, p.unary())
		case tPercent:
			p.next()
			l = binary(opMod, l, p.unary())
		default:
			return l
		}
	}
}

func (p *parser) unary() *expr {
	t := p.peek()
	if t.kind == tMinus {
		p.enter()
		defer p.leave()
		p.next()
		x := p.unary()
		if x.op == opLit && x.lit.k == kNum {
			x.lit.n, x.pos = -x.lit.n, t.pos
			return x
		}
		return &expr{op: opNeg, args: []*expr{x}, pos: t.pos, end: x.end}
	}
	return p.power()
}

func (p *parser) power() *expr {
	l := p.primary()
	if p.peek().kind == tCaret {
		p.next()
		return binary(opPow, l, p.unary())
	}
	return l
}

func (p *parser) primary() *expr {
	t := p.next()
	switch t.kind {
	case tNumber:
		return &expr{op: opLit, lit: numVal(p.number(t)), pos: t.pos, end: t.end}
	case tString:
		return &expr{op: opLit, lit: strVal(t.val), pos: t.pos, end: t.end}
	case tLParen:
		e := p.expr()
		c := p.expect(tRParen)
		e.pos, e.end = t.pos, c.end
		return e
	case tQIdent:
		return refExpr(t)
	case tIdent:
		if reserved[strings.ToLower(t.val)] {
			p.unexpected(t)
		}
		if p.peek().kind == tLParen {
			return p.call(t)
		}
		return refExpr(t)
	}
	p.unexpected(t)
	return nil
}

func (p *parser) call(name token) *expr {
	p.enter()
	defer p.leave()
	lname := strings.ToLower(name.val)
	p.expect(tLParen)
	if ak, ok := aggFuncs[lname]; ok {
		return p.aggCall(name, lname, ak)
	}
	fi, ok := funcs[lname]
	if !ok {
		p.fail(name.pos, name.end, "unknown function %s", name.val)
	}
	e := &expr{op: opCall, fn: fi.kind, name: lname, pos: name.pos}
	switch fi.kind {
	case fBin:
		e.args = []*expr{p.period()}
	case fDatefloor, fDateceil:
		x := p.expr()
		p.expect(tComma)
		e.args = []*expr{x, p.period()}
	default:
		e.args = p.args()
	}
	c := p.expect(tRParen)
	e.end = c.end
	if len(e.args) < fi.min || fi.max >= 0 && len(e.args) > fi.max {
		p.fail(name.pos, c.end, "wrong number of arguments to %s", name.val)
	}
	return e
}

func (p *parser) aggCall(name token, lname string, ak aggKind) *expr {
	e := &expr{op: opAgg, agg: ak, name: lname, pos: name.pos}
	switch {
	case ak == aggCount && p.peek().kind == tStar:
		p.next()
		e.star = true
	case ak == aggCount && p.peek().kind == tRParen:
		e.star = true // count() counts every record, like count(*)
	default:
		e.args = p.args()
	}
	c := p.expect(tRParen)
	e.end = c.end
	want := 1
	if ak == aggPct {
		want = 2
	}
	if !e.star && len(e.args) != want {
		p.fail(name.pos, c.end, "wrong number of arguments to %s", name.val)
	}
	if ak == aggPct {
		a := e.args[1]
		if a.op != opLit || a.lit.k != kNum || a.lit.n < 0 || a.lit.n > 100 {
			p.fail(a.pos, a.end, "the percentile of pct must be a number between 0 and 100")
		}
		e.pct, e.args = a.lit.n, e.args[:1]
	}
	return e
}

func (p *parser) args() []*expr {
	if p.peek().kind == tRParen {
		return nil
	}
	var args []*expr
	for {
		args = append(args, p.expr())
		if p.peek().kind != tComma {
			return args
		}
		p.next()
	}
}

func (p *parser) period() *expr {
	t := p.next()
	if t.kind != tDuration {
		p.unexpected(t)
	}
	pd, ok := parsePeriod(t.text)
	if !ok {
		p.fail(t.pos, t.end, "invalid time period %s", t.text)
	}
	return &expr{op: opPeriod, period: pd, pos: t.pos, end: t.end}
}
