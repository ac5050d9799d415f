package vulndb

import (
	"math"
	"strings"

	json "github.com/go-json-experiment/json/v1"
	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// ECR's severities.
const (
	SeverityInformational = "INFORMATIONAL"
	SeverityLow           = "LOW"
	SeverityMedium        = "MEDIUM"
	SeverityHigh          = "HIGH"
	SeverityCritical      = "CRITICAL"
	SeverityUndefined     = "UNDEFINED"
)

// Severities lists ECR's severities from the most to the least severe.
var Severities = []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInformational, SeverityUndefined}

// scoreSeverity is the band of a CVSS base score, as ECR (Inspector)
// draws them.
func scoreSeverity(score float64) string {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score >= 0.1:
		return SeverityLow
	}
	return SeverityInformational
}

// wordSeverity maps a vendor's severity word (GHSA, Debian urgency,
// Ubuntu priority, Red Hat impact, Alpine) to ECR's; "" when the word says
// nothing ("unknown", "not yet assigned", "untriaged").
func wordSeverity(word string) string {
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "critical":
		return SeverityCritical
	case "high", "important":
		return SeverityHigh
	case "medium", "moderate":
		return SeverityMedium
	case "low":
		return SeverityLow
	case "negligible", "unimportant", "informational", "info", "none":
		return SeverityInformational
	}
	return ""
}

// cvssScores are a record's CVSS vectors and their base scores.
type cvssScores struct {
	v3Vector, v2Vector, v4Vector string
	v3Score, v2Score, v4Score    float64
}

// scoreVectors scores the CVSS vectors of severity entries; the first
// valid vector of each version wins. Invalid vectors are ignored.
func (s *cvssScores) add(entries []osvSeverity) {
	for _, e := range entries {
		vector := strings.TrimSpace(e.Score)
		switch e.Type {
		case "CVSS_V3":
			if s.v3Vector != "" {
				continue
			}
			if score, ok := cvss3Score(vector); ok {
				s.v3Vector, s.v3Score = vector, score
			}
		case "CVSS_V2":
			if s.v2Vector != "" {
				continue
			}
			// Some sources write the version prefix v2 never defined.
			if c, err := gocvss20.ParseVector(strings.TrimPrefix(vector, "CVSS:2.0/")); err == nil {
				s.v2Vector, s.v2Score = vector, roundScore(c.BaseScore())
			}
		case "CVSS_V4":
			if s.v4Vector != "" {
				continue
			}
			if c, err := gocvss40.ParseVector(vector); err == nil {
				s.v4Vector, s.v4Score = vector, roundScore(c.Score())
			}
		}
	}
}

func cvss3Score(vector string) (float64, bool) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return roundScore(c.BaseScore()), true
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return roundScore(c.BaseScore()), true
	}
	return 0, false
}

// roundScore drops float noise: scores have one decimal.
func roundScore(f float64) float64 { return math.Round(f*10) / 10 }

// severityWord digs a severity word out of a database_specific or
// ecosystem_specific object: "severity" (GHSA, Alpine, Red Hat),
// "urgency" (Debian), "priority" (Ubuntu).
func severityWord(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return ""
	}
	for _, key := range []string{"severity", "urgency", "priority"} {
		var word string
		if json.Unmarshal(fields[key], &word) == nil {
			if sev := wordSeverity(word); sev != "" {
				return sev
			}
		}
	}
	return ""
}

// findingSeverity fills f's severity and CVSS fields from the record and
// its affected entry that matched: a vendor's severity word when there is
// one (the distribution's own rating is what a basic scan reports), else
// the band of the CVSS v3 score, else of v4, else of v2, else UNDEFINED.
func findingSeverity(f *Finding, rec *osvRecord, matched *osvAffected) {
	var scores cvssScores
	if matched != nil {
		scores.add(matched.Severity)
	}
	scores.add(rec.Severity)
	f.CVSS3Vector, f.CVSS3Score = scores.v3Vector, scores.v3Score
	f.CVSS2Vector, f.CVSS2Score = scores.v2Vector, scores.v2Score

	words := []string{}
	if matched != nil {
		words = append(words, severityWord(matched.EcosystemSpecific), severityWord(matched.DatabaseSpecific))
	}
	words = append(words, severityWord(rec.DatabaseSpecific))
	for _, s := range rec.Severity {
		if s.Type == "Ubuntu" {
			words = append(words, wordSeverity(s.Score))
		}
	}
	for _, w := range words {
		if w != "" {
			f.Severity = w
			return
		}
	}
	switch {
	case scores.v3Vector != "":
		f.Severity = scoreSeverity(scores.v3Score)
	case scores.v4Vector != "":
		f.Severity = scoreSeverity(scores.v4Score)
	case scores.v2Vector != "":
		f.Severity = scoreSeverity(scores.v2Score)
	default:
		f.Severity = SeverityUndefined
	}
}
