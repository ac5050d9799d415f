// Package insights implements the subset of the CloudWatch Logs Insights
// query language (Logs Insights QL) that people commonly use: it parses a
// query and executes it over a stream of log events, producing rows shaped
// like GetQueryResults output.
//
// The pipeline is lexer (lexer.go) → parser to an AST (parser.go, ast.go) →
// compiler that binds field names to slots (compile.go) → evaluator
// (eval.go, exec.go, aggregate.go).
//
// Supported:
//
//   - Commands separated by '|' (a command keyword at the start of a line
//     also starts a new command), comments from '#' to end of line.
//   - fields: field names and expressions, with "as" aliases.
//   - display: field names; the last display chooses the result columns.
//   - filter: = != < <= > >=, and/or/not, parentheses, arithmetic
//     (+ - * / % ^), like / not like / =~ with "substring" or /regex/,
//     in [..] / not in [..].
//   - parse [field] "glob * pattern" as a, b and parse [field] /(?<name>re)/.
//   - stats with count(*), count(f), count_distinct, sum, avg, min, max,
//     pct(f, p), stddev, earliest, latest; aliases; arithmetic over
//     aggregates and earlier aliases; by fields and bin(period) (ms, s, m,
//     h, d, w, mo, q, y and their long/plural spellings). One stats command
//     per query; filter/fields/display/sort/limit may follow it and see the
//     aggregated columns.
//   - sort with several keys, asc or desc; limit n (default 10,000).
//   - Scalar functions: ispresent, isempty, isblank, coalesce, strlen,
//     toupper, tolower, concat, ltrim, rtrim, trim, substr, replace,
//     strcontains, abs, ceil, floor, greatest, least, log, sqrt, bin,
//     datefloor, dateceil, fromMillis, toMillis.
//   - Discovered fields: @timestamp, @message, @logStream, @log,
//     @ingestionTime, @ptr, and the fields of JSON messages flattened with
//     dots (a.b, list.0.c).
//
// Not supported: dedup, unnest, lookup, join, pattern, diff, anomaly,
// filterIndex, unmask, SOURCE, parse logfmt/csv modes, multiple stats
// commands, limit any, and functions not listed above (datetime formatting,
// IP functions, JSON functions, sortsFirst/sortsLast, ...). They are
// rejected with a *SyntaxError rather than silently ignored.
//
// Output follows GetQueryResults: every value is a string; @timestamp and
// bin() values print as "2006-01-02 15:04:05.000" in UTC; integers print
// without a decimal point; fields an event lacks are omitted from its row;
// non-stats rows end with @ptr.
//
// Memory: without stats or sort, rows stop being kept once the limit is
// reached (statistics keep counting); with sort, a heap bounded by the limit
// keeps the best rows; stats keeps one set of accumulators per group (pct
// and count_distinct also keep the group's values).
//
// Guesses about AWS behaviour are marked "UNVERIFIED" in the source.
package insights
