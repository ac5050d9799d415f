package insights

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// t0 is 2024-01-02 03:00:00.000 UTC.
const t0 int64 = 1704164400000

func ev(offsetMs int64, stream, ptr, msg string) Event {
	return Event{
		Timestamp:     t0 + offsetMs,
		IngestionTime: t0 + offsetMs + 500,
		Message:       msg,
		LogStream:     stream,
		Log:           "123456789012:/app/web",
		Ptr:           ptr,
	}
}

// webEvents are plain-text access logs spread over ~11 minutes.
var webEvents = []Event{
	ev(10_000, "s1", "p1", "GET /a 200 latency=10"),
	ev(70_000, "s1", "p2", "GET /b 500 latency=30"),
	ev(130_000, "s2", "p3", "POST /a 200 latency=20"),
	ev(310_000, "s2", "p4", "GET /c 404 latency=5"),
	ev(320_000, "s1", "p5", "ERROR Exception in thread main"),
	ev(650_000, "s1", "p6", "GET /a 200 latency=40"),
}

// jsonEvents are structured logs; the last one is not JSON.
var jsonEvents = []Event{
	ev(1_000, "a", "j1", `{"level":"ERROR","service":"api","latency":120,"user":{"id":"u1"},"tags":["x","y"]}`),
	ev(2_000, "a", "j2", `{"level":"INFO","service":"api","latency":80}`),
	ev(3_000, "b", "j3", `{"level":"ERROR","service":"db","latency":300.5,"@ts":"now"}`),
	ev(4_000, "b", "j4", ` {"level":"ERROR","service":"api","latency":40,"ok":true,"none":null} `),
	ev(5_000, "b", "j5", `plain ERROR text {"level":"ERROR"}`),
}

const glob = `parse @message "* * * latency=*" as method, path, status, latency`

// r builds an expected row from "name=value" strings.
func r(fields ...string) []Field {
	row := make([]Field, len(fields))
	for i, f := range fields {
		name, val, _ := strings.Cut(f, "=")
		row[i] = Field{Name: name, Value: val}
	}
	return row
}

func run(t testing.TB, query string, events []Event) ([][]Field, Statistics) {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	x := q.NewExecutor()
	for _, e := range events {
		x.Add(e)
	}
	return x.Result()
}

func TestExecute(t *testing.T) {
	reversed := slices.Clone(webEvents)
	slices.Reverse(reversed)

	tests := []struct {
		name    string
		query   string
		events  []Event
		want    [][]Field
		matched float64 // checked when non-zero
	}{
		{
			name:   "default columns are @timestamp and @message",
			query:  `filter @message like "Exception"`,
			events: webEvents,
			want:   [][]Field{r("@timestamp=2024-01-02 03:05:20.000", "@message=ERROR Exception in thread main", "@ptr=p5")},
		},
		{
			name:   "generated fields and timestamp format",
			query:  `fields @timestamp, @ingestionTime, @log, @logStream, @message | limit 1`,
			events: webEvents,
			want: [][]Field{r("@timestamp=2024-01-02 03:00:10.000", "@ingestionTime=2024-01-02 03:00:10.500",
				"@log=123456789012:/app/web", "@logStream=s1", "@message=GET /a 200 latency=10", "@ptr=p1")},
		},
		{
			name:   "milliseconds are kept",
			query:  `fields @timestamp`,
			events: []Event{{Timestamp: 1704164645678, Ptr: "x"}},
			want:   [][]Field{r("@timestamp=2024-01-02 03:04:05.678", "@ptr=x")},
		},
		{
			name:   "@ptr is always last and only once",
			query:  `fields @ptr, @logStream | limit 1`,
			events: webEvents,
			want:   [][]Field{r("@logStream=s1", "@ptr=p1")},
		},
		{
			name:   "absent fields are omitted from the row",
			query:  `fields nothere, @logStream | limit 1`,
			events: webEvents,
			want:   [][]Field{r("@logStream=s1", "@ptr=p1")},
		},
		{
			name:    "count by bin(5m)",
			query:   `stats count(*) by bin(5m)`,
			events:  reversed,
			matched: 6,
			want: [][]Field{
				r("bin(5m)=2024-01-02 03:00:00.000", "count(*)=3"),
				r("bin(5m)=2024-01-02 03:05:00.000", "count(*)=2"),
				r("bin(5m)=2024-01-02 03:10:00.000", "count(*)=1"),
			},
		},
		{
			name:   "count by bin(30s) with alias",
			query:  `stats count(*) as n by bin(30s) as t`,
			events: webEvents,
			want: [][]Field{
				r("t=2024-01-02 03:00:00.000", "n=1"),
				r("t=2024-01-02 03:01:00.000", "n=1"),
				r("t=2024-01-02 03:02:00.000", "n=1"),
				r("t=2024-01-02 03:05:00.000", "n=2"),
				r("t=2024-01-02 03:10:30.000", "n=1"),
			},
		},
		{
			name:   "count by bin(1h)",
			query:  `stats count(*) by bin(1h)`,
			events: webEvents,
			want:   [][]Field{r("bin(1h)=2024-01-02 03:00:00.000", "count(*)=6")},
		},
		{
			name:  "bin by calendar month",
			query: `stats count(*) by bin(1mo)`,
			events: []Event{
				{Timestamp: 1705320000000}, // 2024-01-15 12:00
				{Timestamp: 1706922123000}, // 2024-02-03 01:02:03
				{Timestamp: 1706922123001},
			},
			want: [][]Field{
				r("bin(1mo)=2024-01-01 00:00:00.000", "count(*)=1"),
				r("bin(1mo)=2024-02-01 00:00:00.000", "count(*)=2"),
			},
		},
		{
			name:   "bin by quarter",
			query:  `stats count(*) by bin(1q)`,
			events: []Event{{Timestamp: 1716163200000}}, // 2024-05-20
			want:   [][]Field{r("bin(1q)=2024-04-01 00:00:00.000", "count(*)=1")},
		},
		{
			// latencies 10 30 20 5 40: sum 105, avg 21, median (nearest rank 3 of 5) 20.
			name:    "avg min max sum pct over glob-parsed field",
			query:   glob + ` | filter ispresent(latency) | stats avg(latency), min(latency), max(latency), sum(latency), pct(latency, 50), pct(latency, 90), count(*) as n`,
			events:  webEvents,
			matched: 5,
			want:    [][]Field{r("avg(latency)=21", "min(latency)=5", "max(latency)=40", "sum(latency)=105", "pct(latency, 50)=20", "pct(latency, 90)=40", "n=5")},
		},
		{
			name:   "regex parse with named groups",
			query:  `parse @message /^(?<method>[A-Z]+) (?<path>\S+) (?<status>\d+)/ | filter status >= 400 | fields method, path, status`,
			events: webEvents,
			want: [][]Field{
				r("method=GET", "path=/b", "status=500", "@ptr=p2"),
				r("method=GET", "path=/c", "status=404", "@ptr=p4"),
			},
		},
		{
			name:   "parse defaults to @message and unmatched events keep flowing",
			query:  `parse "latency=*" as lat | fields @logStream, lat | filter @logStream = "s1"`,
			events: webEvents,
			want: [][]Field{
				r("@logStream=s1", "lat=10", "@ptr=p1"),
				r("@logStream=s1", "lat=30", "@ptr=p2"),
				r("@logStream=s1", "@ptr=p5"),
				r("@logStream=s1", "lat=40", "@ptr=p6"),
			},
		},
		{
			name:   "chained parse of an extracted field",
			query:  `parse @message "* * *" as m, url, rest | parse url "/*" as p | filter m = "POST" | display p`,
			events: webEvents,
			want:   [][]Field{r("p=a", "@ptr=p3")},
		},
		{
			name:   "like regex, case-insensitive",
			query:  `fields @message | filter @message like /(?i)exception/`,
			events: webEvents,
			want:   [][]Field{r("@message=ERROR Exception in thread main", "@ptr=p5")},
		},
		{
			name:   "like string is case-sensitive",
			query:  `filter @message like "exception" | stats count(*)`,
			events: webEvents,
			want:   [][]Field{r("count(*)=0")},
		},
		{
			name:   "=~ regex",
			query:  `filter @message =~ /^GET/ | stats count(*)`,
			events: webEvents,
			want:   [][]Field{r("count(*)=4")},
		},
		{
			name:   "not like",
			query:  `fields @message | filter @message not like /GET/`,
			events: webEvents,
			want: [][]Field{
				r("@message=POST /a 200 latency=20", "@ptr=p3"),
				r("@message=ERROR Exception in thread main", "@ptr=p5"),
			},
		},
		{
			name:   "in with numbers against parsed strings",
			query:  glob + ` | filter status in [404, 500] | fields status`,
			events: webEvents,
			want:   [][]Field{r("status=500", "@ptr=p2"), r("status=404", "@ptr=p4")},
		},
		{
			name:   "in and not in with strings",
			query:  `filter @logStream in ["s2"] or @message like /thread/ | fields @logStream`,
			events: webEvents,
			want:   [][]Field{r("@logStream=s2", "@ptr=p3"), r("@logStream=s2", "@ptr=p4"), r("@logStream=s1", "@ptr=p5")},
		},
		{
			name:   "not in",
			query:  `filter @logStream not in ["s2", "s3"] | stats count(*)`,
			events: webEvents,
			want:   [][]Field{r("count(*)=4")},
		},
		{
			name:   "and, or, not, parentheses",
			query:  glob + ` | filter (method = "GET" and not (status = 200)) or path = "/a" and method = "POST" | fields path`,
			events: webEvents,
			want:   [][]Field{r("path=/b", "@ptr=p2"), r("path=/a", "@ptr=p3"), r("path=/c", "@ptr=p4")},
		},
		{
			name:   "arithmetic in filter and fields",
			query:  glob + ` | filter latency * 2 > 50 | fields latency, latency * 2 as double, (latency + 1) / 4 as q, latency % 7 as m, 2 ^ 3 as p`,
			events: webEvents,
			want: [][]Field{
				r("latency=30", "double=60", "q=7.75", "m=2", "p=8", "@ptr=p2"),
				r("latency=40", "double=80", "q=10.25", "m=5", "p=8", "@ptr=p6"),
			},
		},
		{
			name:   "sort on several keys",
			query:  glob + ` | filter ispresent(status) | sort status desc, latency asc | fields status, latency`,
			events: reversed,
			want: [][]Field{
				r("status=500", "latency=30", "@ptr=p2"),
				r("status=404", "latency=5", "@ptr=p4"),
				r("status=200", "latency=10", "@ptr=p1"),
				r("status=200", "latency=20", "@ptr=p3"),
				r("status=200", "latency=40", "@ptr=p6"),
			},
		},
		{
			name:    "sort @timestamp desc with limit",
			query:   `fields @message | sort @timestamp desc | limit 2`,
			events:  webEvents,
			matched: 6,
			want: [][]Field{
				r("@message=GET /a 200 latency=40", "@ptr=p6"),
				r("@message=ERROR Exception in thread main", "@ptr=p5"),
			},
		},
		{
			name:    "limit without sort keeps the first rows but counts all",
			query:   `fields @logStream | limit 2`,
			events:  webEvents,
			matched: 6,
			want:    [][]Field{r("@logStream=s1", "@ptr=p1"), r("@logStream=s1", "@ptr=p2")},
		},
		{
			name:   "missing sort keys sort last",
			query:  glob + ` | sort latency desc | fields latency | limit 3`,
			events: []Event{webEvents[4], webEvents[0], webEvents[1]},
			want:   [][]Field{r("latency=30", "@ptr=p2"), r("latency=10", "@ptr=p1"), r("@ptr=p5")},
		},
		{
			name:   "display chooses the columns",
			query:  glob + ` | fields method, status | display path | limit 1`,
			events: webEvents,
			want:   [][]Field{r("path=/a", "@ptr=p1")},
		},
		{
			name:   "JSON discovery: filter level and count by service",
			query:  `filter level = "ERROR" | stats count(*) by service`,
			events: jsonEvents,
			want:   [][]Field{r("service=api", "count(*)=2"), r("service=db", "count(*)=1")},
		},
		{
			name:   "JSON nested objects and arrays",
			query:  `fields user.id, tags.1, tags.0 | filter ispresent(user.id)`,
			events: jsonEvents,
			want:   [][]Field{r("user.id=u1", "tags.1=y", "tags.0=x", "@ptr=j1")},
		},
		{
			name:   "JSON numbers keep their text; @-names get another @",
			query:  `filter service = "db" | fields latency, @@ts, level`,
			events: jsonEvents,
			want:   [][]Field{r("latency=300.5", "@@ts=now", "level=ERROR", "@ptr=j3")},
		},
		{
			name:   "JSON booleans and nulls",
			query:  `filter ispresent(ok) | fields ok, none, ispresent(none) as hasNone`,
			events: jsonEvents,
			want:   [][]Field{r("ok=true", "hasNone=false", "@ptr=j4")},
		},
		{
			name:   "avg and max by service, sorted by an aggregate",
			query:  `stats avg(latency) as avg_latency, max(latency) by service | sort avg_latency desc`,
			events: jsonEvents,
			want: [][]Field{
				r("service=db", "avg_latency=300.5", "max(latency)=300.5"),
				r("service=api", "avg_latency=80", "max(latency)=120"),
				// j5 has no service and no latency: its group has no columns.
			},
		},
		{
			name:   "count(field) versus count(*) and count_distinct",
			query:  `stats count(*), count(level), count(latency), count_distinct(service), count_distinct(level)`,
			events: jsonEvents,
			want:   [][]Field{r("count(*)=5", "count(level)=4", "count(latency)=4", "count_distinct(service)=2", "count_distinct(level)=2")},
		},
		{
			name:   "arithmetic over aggregates and earlier aliases",
			query:  `filter ispresent(latency) | stats sum(latency) as total, count(*) as n, total / n as mean, max(latency) - min(latency) as spread`,
			events: jsonEvents,
			want:   [][]Field{r("total=540.5", "n=4", "mean=135.125", "spread=260.5")},
		},
		{
			name:   "stats without by over no events yields one row",
			query:  `filter @message like "nope" | stats count(*), avg(latency)`,
			events: webEvents,
			want:   [][]Field{r("count(*)=0")},
		},
		{
			name:   "filter and sort after stats",
			query:  `stats count(*) as n by @logStream | filter n > 1 | sort n desc`,
			events: webEvents,
			want:   [][]Field{r("@logStream=s1", "n=4"), r("@logStream=s2", "n=2")},
		},
		{
			name:   "sort by an unaliased aggregate",
			query:  `stats count(*) by @logStream | sort count(*) asc | limit 1`,
			events: webEvents,
			want:   [][]Field{r("@logStream=s2", "count(*)=2")},
		},
		{
			name:   "fields after stats adds computed columns",
			query:  `stats count(*) as n by bin(5m) | fields n * 10 as n10 | filter n > 1`,
			events: webEvents,
			want: [][]Field{
				r("bin(5m)=2024-01-02 03:00:00.000", "n=3", "n10=30"),
				r("bin(5m)=2024-01-02 03:05:00.000", "n=2", "n10=20"),
			},
		},
		{
			name:   "stats by two fields",
			query:  glob + ` | filter ispresent(method) | stats count(*) by method, status`,
			events: webEvents,
			want: [][]Field{
				r("method=GET", "status=200", "count(*)=2"),
				r("method=GET", "status=404", "count(*)=1"),
				r("method=GET", "status=500", "count(*)=1"),
				r("method=POST", "status=200", "count(*)=1"),
			},
		},
		{
			name:   "stddev, earliest, latest",
			query:  glob + ` | stats stddev(latency) as sd, earliest(path) as first, latest(path) as last`,
			events: reversed,
			// latencies 10 30 20 5 40: mean 21, squared deviations sum
			// 121+81+1+256+361 = 820, sample variance 820/4 = 205, sqrt(205).
			want: [][]Field{r("sd=14.317821063276353", "first=/a", "last=/a")},
		},
		{
			name:   "string functions",
			query:  `fields strlen(@message) as len, toupper(@logStream) as up, tolower("ABC") as low, concat(@logStream, "-", @message) as c, substr(@message, 4, 2) as sub, replace(@message, "latency", "L") as rep, strcontains(@message, "/a") as has, trim("  x  ") as tr | limit 1`,
			events: webEvents,
			want:   [][]Field{r("len=21", "up=S1", "low=abc", "c=s1-GET /a 200 latency=10", "sub=/a", "rep=GET /a 200 L=10", "has=1", "tr=x", "@ptr=p1")},
		},
		{
			name:   "datetime and numeric functions",
			query:  `fields datefloor(@timestamp, 1h) as h, dateceil(@timestamp, 1m) as m, toMillis(@timestamp) as ms, abs(-2.5) as a, ceil(1.2) as c, floor(1.8) as f, greatest(1, 5, 3) as g, least(4, 2) as l, sqrt(16) as s | limit 1`,
			events: webEvents,
			want:   [][]Field{r("h=2024-01-02 03:00:00.000", "m=2024-01-02 03:01:00.000", "ms=1704164410000", "a=2.5", "c=2", "f=1", "g=5", "l=2", "s=4", "@ptr=p1")},
		},
		{
			name:   "coalesce, isempty, isblank",
			query:  `fields coalesce(nothere, @logStream) as c, isempty(nothere) as e, isblank(" ") as b | limit 1`,
			events: webEvents,
			want:   [][]Field{r("c=s1", "e=true", "b=true", "@ptr=p1")},
		},
		{
			name:   "comments and newline-separated commands",
			query:  "# find the POST\nfields @logStream # stream only\nfilter @message like /POST/",
			events: webEvents,
			want:   [][]Field{r("@logStream=s2", "@ptr=p3")},
		},
		{
			name:   "backtick field names",
			query:  "fields `user.id` as `the user` | filter ispresent(`the user`)",
			events: jsonEvents,
			want:   [][]Field{r("the user=u1", "@ptr=j1")},
		},
		{
			name:   "compare @timestamp with epoch milliseconds",
			query:  `filter @timestamp >= 1704164700000 | stats count(*)`,
			events: webEvents,
			want:   [][]Field{r("count(*)=3")},
		},
		{
			name:   "keywords are case-insensitive",
			query:  `FILTER @logStream = "s2" AND NOT @message LIKE /POST/ | STATS COUNT(*) AS n`,
			events: webEvents,
			want:   [][]Field{r("n=1")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, st := run(t, tc.query, tc.events)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("query %q\n got: %v\nwant: %v", tc.query, got, tc.want)
			}
			if st.RecordsScanned != float64(len(tc.events)) {
				t.Errorf("RecordsScanned = %v, want %d", st.RecordsScanned, len(tc.events))
			}
			if tc.matched != 0 && st.RecordsMatched != tc.matched {
				t.Errorf("RecordsMatched = %v, want %v", st.RecordsMatched, tc.matched)
			}
		})
	}
}

func TestStatistics(t *testing.T) {
	_, st := run(t, `filter @logStream = "s2"`, webEvents)
	var bytes int
	for _, e := range webEvents {
		bytes += len(e.Message)
	}
	want := Statistics{RecordsMatched: 2, RecordsScanned: 6, BytesScanned: float64(bytes)}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}
}

// TestSortedLimitMatchesFullSort checks the bounded heap against a full sort,
// with duplicate timestamps to exercise tie-breaking.
func TestSortedLimitMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var events []Event
	for i := range 5000 {
		events = append(events, Event{Timestamp: t0 + rng.Int63n(1000), Message: fmt.Sprint(i), Ptr: fmt.Sprint(i)})
	}
	for _, dir := range []string{"asc", "desc"} {
		q, err := Parse("fields @message | sort @timestamp " + dir + " | limit 20")
		if err != nil {
			t.Fatal(err)
		}
		x := q.NewExecutor()
		for _, e := range events {
			x.Add(e)
		}
		if len(x.top.rows) != 20 {
			t.Fatalf("heap holds %d rows, want 20", len(x.top.rows))
		}
		got, _ := x.Result()

		idx := make([]int, len(events))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			c := int(events[a].Timestamp - events[b].Timestamp)
			if dir == "desc" {
				c = -c
			}
			return c
		})
		for i, row := range got {
			if want := events[idx[i]].Message; row[0].Value != want {
				t.Fatalf("%s row %d: got message %s, want %s", dir, i, row[0].Value, want)
			}
		}
	}
}

// TestLimitStopsKeepingRows checks that a query without sort keeps only
// `limit` rows however many events match.
func TestLimitStopsKeepingRows(t *testing.T) {
	q, err := Parse("fields @message | limit 3")
	if err != nil {
		t.Fatal(err)
	}
	x := q.NewExecutor()
	for i := range 1000 {
		x.Add(Event{Timestamp: t0 + int64(i), Message: "m"})
	}
	if len(x.rows) != 3 {
		t.Fatalf("kept %d rows, want 3", len(x.rows))
	}
	rows, st := x.Result()
	if len(rows) != 3 || st.RecordsMatched != 1000 {
		t.Fatalf("got %d rows, %v matched", len(rows), st.RecordsMatched)
	}
	if q.Limit() != 3 {
		t.Fatalf("Limit() = %d", q.Limit())
	}
}

func TestDefaultLimit(t *testing.T) {
	q, err := Parse("fields @message")
	if err != nil {
		t.Fatal(err)
	}
	if q.Limit() != 10000 {
		t.Fatalf("Limit() = %d, want 10000", q.Limit())
	}
	x := q.NewExecutor()
	for range 10050 {
		x.Add(Event{Message: "m"})
	}
	if rows, _ := x.Result(); len(rows) != 10000 {
		t.Fatalf("got %d rows, want 10000", len(rows))
	}
}

// TestPartialResults checks Result can be called while events still arrive.
func TestPartialResults(t *testing.T) {
	q, err := Parse("stats count(*) by bin(5m) | sort bin(5m) desc")
	if err != nil {
		t.Fatal(err)
	}
	x := q.NewExecutor()
	x.Add(webEvents[0])
	first, _ := x.Result()
	for _, e := range webEvents[1:] {
		x.Add(e)
	}
	all, _ := x.Result()
	if len(first) != 1 || len(all) != 3 || all[0][0].Value != "2024-01-02 03:10:00.000" {
		t.Fatalf("first %v, all %v", first, all)
	}
}

// TestNaturalSortOrder uses the ascending example from AWS's sort
// documentation.
func TestNaturalSortOrder(t *testing.T) {
	want := []string{"!:", "#", "*%04", "0#", "5A", "111A", "2345_", "@", "@_", "A", "A9876fghj", "a12345hfh", "0", "01", "1", "2", "3"}
	var events []Event
	for i, j := range rand.New(rand.NewSource(7)).Perm(len(want)) {
		events = append(events, Event{Message: fmt.Sprintf(`{"v":"%s"}`, want[j]), Ptr: fmt.Sprint(i)})
	}
	for _, dir := range []string{"asc", "desc"} {
		rows, _ := run(t, "fields v | sort v "+dir, events)
		var got []string
		for _, row := range rows {
			got = append(got, row[0].Value)
		}
		exp := slices.Clone(want)
		if dir == "desc" {
			slices.Reverse(exp)
		}
		if !slices.Equal(got, exp) {
			t.Errorf("sort %s:\n got %q\nwant %q", dir, got, exp)
		}
	}
}
