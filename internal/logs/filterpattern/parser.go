package filterpattern

// Quotas AWS documents for JSON selectors: "You can only use up to one
// wildcard selector in a property selector, and up to three wildcard
// selectors in a filter pattern with compound expressions."
const (
	maxWildcardsPerSelector = 1
	maxWildcardsPerPattern  = 3
)

// maxNesting bounds parentheses, so a hostile pattern cannot exhaust the
// stack. UNVERIFIED: AWS states no depth limit; 1024 bytes (its pattern
// length limit) of parentheses is far past any real use of this.
const maxNesting = 64

// parser turns the tokens of a JSON or space-delimited pattern into a tree.
type parser struct {
	toks    []token
	pos     int
	nesting int

	regexes   int // %regex% literals so far, for AWS's quota
	wildcards int // wildcard selector steps so far, for AWS's quota

	// slotField is the field the conditions of the space-delimited field
	// being parsed are about; they may name no other.
	slotField string
	// parseLeaf parses one condition: a JSON test or a field comparison.
	parseLeaf func() (boolExpr, error)
}

func newParser(src string) (*parser, error) {
	toks, err := lexStructured(src)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }

// peekAt looks n tokens ahead, never past the tokEOF at the end.
func (p *parser) peekAt(n int) token {
	if p.pos+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.pos+n]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) expect(kind tokenKind, what string) error {
	if p.next().kind != kind {
		return invalid("expected " + what)
	}
	return nil
}

// parseOr parses leaves joined by || and &&, && binding tighter, with
// parentheses: AWS's "() > && > ||".
func (p *parser) parseOr() (boolExpr, error) {
	var terms orExpr
	for {
		e, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if p.peek().kind != tokOr {
			break
		}
		p.next()
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *parser) parseAnd() (boolExpr, error) {
	var terms andExpr
	for {
		e, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if p.peek().kind != tokAnd {
			break
		}
		p.next()
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *parser) parseOperand() (boolExpr, error) {
	if p.peek().kind != tokLParen {
		return p.parseLeaf()
	}
	p.next()
	p.nesting++
	if p.nesting > maxNesting {
		return nil, invalid("parentheses nested too deeply")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.nesting--
	if err := p.expect(tokRParen, ")"); err != nil {
		return nil, err
	}
	return e, nil
}

// parseLiteral parses the value after a comparison operator.
func (p *parser) parseLiteral(op operator) (literal, error) {
	t := p.next()
	switch t.kind {
	case tokRegex:
		if op != opEqual && op != opNotEqual {
			return literal{}, invalid("a regex needs = or !=")
		}
		p.regexes++
		if p.regexes > maxRegexesPerPattern {
			return literal{}, invalid("more than 2 regexes in a pattern")
		}
		re, err := compileRegex(t.text)
		if err != nil {
			return literal{}, err
		}
		return literal{regex: re}, nil
	case tokWord:
		if n, ok := parseNumber(t.text); ok {
			return literal{isNumber: true, number: n, text: t.text}, nil
		}
		if op.isOrdering() {
			return literal{}, invalid("< > <= >= need a number")
		}
		return newStringLiteral(t.text), nil
	case tokString:
		// AWS: "Strings don't support scientific notation": a quoted value
		// is a string even when it reads as a number.
		if op.isOrdering() {
			return literal{}, invalid("< > <= >= need a number")
		}
		return newStringLiteral(t.text), nil
	}
	return literal{}, invalid("expected a value")
}

// parseJSONPattern parses `{ expression }`.
func parseJSONPattern(src string) (matcher, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	p.parseLeaf = p.parseJSONCondition
	if err := p.expect(tokLBrace, "{"); err != nil {
		return nil, err
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokRBrace, "}"); err != nil {
		return nil, err
	}
	if err := p.expect(tokEOF, "end of pattern after }"); err != nil {
		return nil, err
	}
	return &jsonPattern{expr: e}, nil
}

// isOperators are the words after IS in a JSON pattern.
var isOperators = map[string]operator{"TRUE": opIsTrue, "FALSE": opIsFalse, "NULL": opIsNull}

// parseJSONCondition parses `selector op value`, `selector IS TRUE|FALSE|NULL`
// or `selector NOT EXISTS`.
func (p *parser) parseJSONCondition() (boolExpr, error) {
	sel := p.next()
	if sel.kind != tokSelector {
		return nil, invalid("expected a $. property selector")
	}
	wildcards := 0
	for _, step := range sel.path {
		if step.kind == stepWildcard {
			wildcards++
		}
	}
	if wildcards > maxWildcardsPerSelector {
		return nil, invalid("more than one wildcard in a selector")
	}
	p.wildcards += wildcards
	if p.wildcards > maxWildcardsPerPattern {
		return nil, invalid("more than three wildcards in a pattern")
	}
	c := &condition{path: sel.path}
	t := p.next()
	switch {
	case t.kind == tokOperator:
		c.op = comparisonOperators[t.text]
		lit, err := p.parseLiteral(c.op)
		if err != nil {
			return nil, err
		}
		c.value = lit
	// UNVERIFIED: AWS writes IS, TRUE, FALSE, NULL, NOT and EXISTS in
	// capitals only; other spellings are rejected.
	case t.kind == tokWord && t.text == "IS":
		v := p.next()
		op, ok := isOperators[v.text]
		if v.kind != tokWord || !ok {
			// Including IS NOT, which AWS says is not supported.
			return nil, invalid("IS needs TRUE, FALSE or NULL")
		}
		c.op = op
	case t.kind == tokWord && t.text == "NOT":
		if v := p.next(); v.kind != tokWord || v.text != "EXISTS" {
			return nil, invalid("NOT needs EXISTS")
		}
		c.op = opNotExists
	default:
		// Including a bare EXISTS, which AWS says is not supported.
		return nil, invalid("expected an operator after the selector")
	}
	return c, nil
}

// parseSpaceDelimitedPattern parses `[field, field, ...]`.
func parseSpaceDelimitedPattern(src string) (matcher, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	p.parseLeaf = p.parseFieldCondition
	if err := p.expect(tokLBracket, "["); err != nil {
		return nil, err
	}
	var fields []fieldPattern
	for {
		f, err := p.parseField()
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	if err := p.expect(tokRBracket, "]"); err != nil {
		return nil, err
	}
	if err := p.expect(tokEOF, "end of pattern after ]"); err != nil {
		return nil, err
	}
	// UNVERIFIED: AWS does not say what [] means; it is rejected.
	if len(fields) == 1 && fields[0].isUnnamed() {
		return nil, invalid("no fields between [ ]")
	}
	return &delimitedPattern{fields: fields}, nil
}

// parseField parses one comma-separated field: nothing (an unnamed field,
// as in the 2020 guide's `[..., request=*.html*, status_code=4*,]`), an
// ellipsis, a name, or conditions on one name.
func (p *parser) parseField() (fieldPattern, error) {
	t := p.peek()
	if t.kind == tokComma || t.kind == tokRBracket {
		return fieldPattern{}, nil
	}
	if after := p.peekAt(1).kind; t.kind == tokWord && (after == tokComma || after == tokRBracket) {
		p.next()
		if t.text == "..." {
			return fieldPattern{ellipsis: true}, nil
		}
		if !isFieldName(t.text) {
			return fieldPattern{}, invalid("bad field name")
		}
		return fieldPattern{name: t.text}, nil
	}
	p.slotField = ""
	// UNVERIFIED: AWS documents && and || in a field but not parentheses;
	// they are accepted as in JSON patterns.
	e, err := p.parseOr()
	if err != nil {
		return fieldPattern{}, err
	}
	return fieldPattern{name: p.slotField, cond: e}, nil
}

// parseFieldCondition parses `name op value` within a field.
func (p *parser) parseFieldCondition() (boolExpr, error) {
	name := p.next()
	if name.kind != tokWord || !isFieldName(name.text) {
		return nil, invalid("expected a field name")
	}
	// A field's conditions are about that field: AWS rejects
	// `status_code = 4* && bytes > 1000` in one field.
	if p.slotField == "" {
		p.slotField = name.text
	} else if name.text != p.slotField {
		return nil, invalid("a field's conditions name another field")
	}
	op := p.next()
	if op.kind != tokOperator {
		return nil, invalid("expected an operator after the field name")
	}
	c := &condition{field: name.text, op: comparisonOperators[op.text]}
	lit, err := p.parseLiteral(c.op)
	if err != nil {
		return nil, err
	}
	c.value = lit
	return c, nil
}

// isFieldName reports whether s can name a space-delimited field.
// UNVERIFIED: AWS's names are letters, digits and underscores (w1,
// status_code, logLevel); other characters are rejected.
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTermByte(s[i]) {
			return false
		}
	}
	return true
}
