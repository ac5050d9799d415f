package insights

import (
	"math"
	"slices"
)

// aggState accumulates one aggregate for one group. Everything except pct
// and count_distinct is O(1) memory, so stats over large inputs streams.
type aggState struct {
	n        int64
	sum      float64
	mean, m2 float64 // Welford's running variance, for stddev
	best     value   // min/max/earliest/latest
	bestT    int64
	has      bool
	vals     []float64           // pct
	distinct map[string]struct{} // count_distinct
}

func (st *aggState) update(a *expr, r *record) {
	if a.star {
		st.n++
		return
	}
	v := eval(a.args[0], r)
	if v.k == kMissing {
		return
	}
	switch a.agg {
	case aggCount:
		st.n++
	case aggSum, aggAvg:
		if x, ok := v.num(); ok {
			st.n++
			st.sum += x
		}
	case aggStddev:
		if x, ok := v.num(); ok {
			st.n++
			d := x - st.mean
			st.mean += d / float64(st.n)
			st.m2 += d * (x - st.mean)
		}
	case aggMin, aggMax:
		if !st.has {
			st.best, st.has = v.detach(), true
			return
		}
		c := minMaxOrder(v, st.best)
		if a.agg == aggMin && c < 0 || a.agg == aggMax && c > 0 {
			st.best = v.detach()
		}
	case aggPct:
		if x, ok := v.num(); ok {
			st.vals = append(st.vals, x)
		}
	case aggCountDistinct:
		// Exact. AWS: "If the field has very high cardinality ... the value
		// returned by count_distinct is just an approximation."
		if st.distinct == nil {
			st.distinct = make(map[string]struct{})
		}
		k := string(appendKey(nil, v))
		st.distinct[k] = struct{}{}
	case aggEarliest, aggLatest:
		t := r.ev.Timestamp
		if !st.has || a.agg == aggEarliest && t < st.bestT || a.agg == aggLatest && t > st.bestT {
			st.best, st.bestT, st.has = v.detach(), t, true
		}
	}
}

// result finalizes an aggregate. Aggregates over no values are missing and so
// omitted from the row, except counts, which are 0.
// UNVERIFIED: AWS's output for sum/avg/min/max over a group with no values.
func (st *aggState) result(a *expr) value {
	switch a.agg {
	case aggCount:
		return numVal(float64(st.n))
	case aggCountDistinct:
		return numVal(float64(len(st.distinct)))
	case aggSum:
		if st.n == 0 {
			return missing
		}
		return numVal(st.sum)
	case aggAvg:
		if st.n == 0 {
			return missing
		}
		return numVal(st.sum / float64(st.n))
	case aggStddev:
		// UNVERIFIED: sample (n-1) rather than population standard deviation.
		switch st.n {
		case 0:
			return missing
		case 1:
			return numVal(0)
		}
		return numVal(math.Sqrt(st.m2 / float64(st.n-1)))
	case aggPct:
		return percentile(st.vals, a.pct)
	}
	if !st.has {
		return missing
	}
	return st.best
}

// percentile uses the nearest-rank method on the exact values: the smallest
// value with at least p% of the values at or below it.
// UNVERIFIED: AWS computes pct approximately and does not document the
// method; nearest-rank is exact for small inputs and easy to hand-check.
func percentile(vals []float64, p float64) value {
	if len(vals) == 0 {
		return missing
	}
	slices.Sort(vals)
	rank := int(math.Ceil(p / 100 * float64(len(vals))))
	rank = min(max(rank, 1), len(vals))
	return numVal(vals[rank-1])
}
