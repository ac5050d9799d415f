package vulndb

import (
	"encoding/json"
	"testing"
)

func TestScoreSeverity(t *testing.T) {
	cases := []struct {
		score float64
		want  string
	}{
		{10, SeverityCritical}, {9.0, SeverityCritical}, {8.9, SeverityHigh}, {7.0, SeverityHigh},
		{6.9, SeverityMedium}, {4.0, SeverityMedium}, {3.9, SeverityLow}, {0.1, SeverityLow},
		{0, SeverityInformational},
	}
	for _, tc := range cases {
		if got := scoreSeverity(tc.score); got != tc.want {
			t.Errorf("scoreSeverity(%v) = %s, want %s", tc.score, got, tc.want)
		}
	}
}

func TestFindingSeverity(t *testing.T) {
	const (
		v31Critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" // 9.8
		v30Low      = "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L" // 3.3
		v31None     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N" // 0.0
		v2High      = "AV:N/AC:L/Au:N/C:P/I:P/A:P"                   // 7.5
		v4Critical  = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
	)
	cases := []struct {
		name       string
		record     string // JSON of the record's fields besides id/modified/affected
		affected   string // JSON of the matched affected entry's extra fields
		want       string
		wantCVSS3  float64
		wantVector string
		wantCVSS2  float64
	}{
		{"none", `{}`, `{}`, SeverityUndefined, 0, "", 0},
		{"cvss 3.1", `{"severity": [{"type": "CVSS_V3", "score": "` + v31Critical + `"}]}`, `{}`, SeverityCritical, 9.8, v31Critical, 0},
		{"cvss 3.0", `{"severity": [{"type": "CVSS_V3", "score": "` + v30Low + `"}]}`, `{}`, SeverityLow, 3.3, v30Low, 0},
		{"zero score", `{"severity": [{"type": "CVSS_V3", "score": "` + v31None + `"}]}`, `{}`, SeverityInformational, 0, v31None, 0},
		{"cvss 2 only", `{"severity": [{"type": "CVSS_V2", "score": "` + v2High + `"}]}`, `{}`, SeverityHigh, 0, "", 7.5},
		{"cvss 4 only", `{"severity": [{"type": "CVSS_V4", "score": "` + v4Critical + `"}]}`, `{}`, SeverityCritical, 0, "", 0},
		{"v3 preferred to v2", `{"severity": [{"type": "CVSS_V2", "score": "` + v2High + `"}, {"type": "CVSS_V3", "score": "` + v30Low + `"}]}`, `{}`, SeverityLow, 3.3, v30Low, 7.5},
		{"invalid vector ignored", `{"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]}`, `{}`, SeverityUndefined, 0, "", 0},
		{"affected entry's vector first", `{"severity": [{"type": "CVSS_V3", "score": "` + v30Low + `"}]}`, `{"severity": [{"type": "CVSS_V3", "score": "` + v31Critical + `"}]}`, SeverityCritical, 9.8, v31Critical, 0},
		{"GHSA word", `{"database_specific": {"severity": "MODERATE"}, "severity": [{"type": "CVSS_V3", "score": "` + v31Critical + `"}]}`, `{}`, SeverityMedium, 9.8, v31Critical, 0},
		{"debian urgency", `{}`, `{"ecosystem_specific": {"urgency": "unimportant"}}`, SeverityInformational, 0, "", 0},
		{"debian not yet assigned falls to cvss", `{"severity": [{"type": "CVSS_V3", "score": "` + v31Critical + `"}]}`, `{"ecosystem_specific": {"urgency": "not yet assigned"}}`, SeverityCritical, 9.8, v31Critical, 0},
		{"ubuntu priority", `{"severity": [{"type": "Ubuntu", "score": "high"}]}`, `{}`, SeverityHigh, 0, "", 0},
		{"red hat important", `{}`, `{"database_specific": {"severity": "Important"}}`, SeverityHigh, 0, "", 0},
		{"non-string severity ignored", `{"database_specific": {"severity": {"x": 1}}}`, `{}`, SeverityUndefined, 0, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rec osvRecord
			var aff osvAffected
			if err := json.Unmarshal([]byte(tc.record), &rec); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.affected), &aff); err != nil {
				t.Fatal(err)
			}
			var f Finding
			findingSeverity(&f, &rec, &aff)
			if f.Severity != tc.want || f.CVSS3Score != tc.wantCVSS3 || f.CVSS3Vector != tc.wantVector || f.CVSS2Score != tc.wantCVSS2 {
				t.Fatalf("got %s %v %q %v, want %s %v %q %v", f.Severity, f.CVSS3Score, f.CVSS3Vector, f.CVSS2Score,
					tc.want, tc.wantCVSS3, tc.wantVector, tc.wantCVSS2)
			}
		})
	}
}
