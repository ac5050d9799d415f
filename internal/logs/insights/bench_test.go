package insights

import (
	"fmt"
	"testing"
)

// syntheticEvents returns n events one second apart (about 11.5 days), with
// plain-text messages of roughly 60 bytes.
func syntheticEvents(n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{
			Timestamp:     t0 + int64(i)*1000,
			IngestionTime: t0 + int64(i)*1000 + 200,
			Message:       fmt.Sprintf("GET /api/items/%d 200 latency=%d user=u%d", i%1000, i%250, i%97),
			LogStream:     "stream-1",
			Log:           "123456789012:/bench",
			Ptr:           fmt.Sprint(i),
		}
	}
	return evs
}

var benchEvents []Event

func benchData() []Event {
	if benchEvents == nil {
		benchEvents = syntheticEvents(1_000_000)
	}
	return benchEvents
}

func benchQuery(b *testing.B, query string) {
	evs := benchData()
	q, err := Parse(query)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		x := q.NewExecutor()
		for _, e := range evs {
			x.Add(e)
		}
		x.Result()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}

// BenchmarkStatsCountByBin streams 1e6 events through stats count(*) by bin(5m).
func BenchmarkStatsCountByBin(b *testing.B) {
	benchQuery(b, `stats count(*) by bin(5m)`)
}

func BenchmarkSortTimestampDescLimit20(b *testing.B) {
	benchQuery(b, `fields @timestamp, @message | sort @timestamp desc | limit 20`)
}

func BenchmarkParseFilterStats(b *testing.B) {
	benchQuery(b, `parse @message "* * * latency=* user=*" as method, path, status, latency, user | filter status = 200 | stats avg(latency), pct(latency, 95) by bin(1h)`)
}
