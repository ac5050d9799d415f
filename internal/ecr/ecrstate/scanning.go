package ecrstate

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/berth/berth/internal/store"
)

// Scan types and frequencies, as ECR names them.
const (
	ScanTypeBasic    = "BASIC"
	ScanTypeEnhanced = "ENHANCED"

	FrequencyScanOnPush     = "SCAN_ON_PUSH"
	FrequencyContinuousScan = "CONTINUOUS_SCAN"
	FrequencyManual         = "MANUAL"
)

// ScanningConfig is the registry scanning configuration as stored.
type ScanningConfig struct {
	ScanType string         `json:"scanType"`
	Rules    []ScanningRule `json:"rules,omitempty"`
	// UpdatedAt is when it was last put: a BASIC scan-on-push rule applies
	// to images pushed from then on, not to those already there.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// ScanningRule is one rule of the registry scanning configuration.
type ScanningRule struct {
	ScanFrequency string `json:"scanFrequency"`
	// Filters are WILDCARD repository filters.
	Filters []string `json:"filters"`
}

// LoadScanningConfig reads region's registry scanning configuration; a
// region that never set one scans BASIC without rules.
func LoadScanningConfig(ctx context.Context, st store.Store, region string) (ScanningConfig, error) {
	cfg, err := store.Get[ScanningConfig](ctx, st, ScanningKey(region))
	if errors.Is(err, store.ErrNotFound) {
		return ScanningConfig{ScanType: ScanTypeBasic}, nil
	}
	return cfg.Value, err
}

// scanningFilterMatches applies one WILDCARD filter as ECR does: a filter
// without `*` matches every repository whose name contains it; with `*`,
// the whole name must match, `*` standing for any run of characters.
func scanningFilterMatches(filter, repo string) bool {
	if !strings.Contains(filter, "*") {
		return strings.Contains(repo, filter)
	}
	return MatchWildcard(filter, repo)
}

// Frequency is how images of repo are scanned under this configuration,
// and the filters that make it so (BatchGetRepositoryScanningConfiguration's
// appliedScanFilters).
//
// BASIC: SCAN_ON_PUSH when the repository's own scanOnPush is set or a
// SCAN_ON_PUSH rule matches it, else MANUAL. The repository-level setting
// still counts beside the registry rules (UNVERIFIED: ECR documents the
// repository-level setting as superseded by registry filters, not as
// ignored).
//
// ENHANCED: a matching CONTINUOUS_SCAN rule wins over a matching
// SCAN_ON_PUSH one (ECR: "enforces the continuous scanning filter over the
// scan on push filter"); a repository no rule matches is not scanned, which
// the API reports as MANUAL (the enum has no "disabled").
func (c ScanningConfig) Frequency(repo Repository) (freq string, applied []string) {
	matching := func(want string) []string {
		var filters []string
		for _, r := range c.Rules {
			if r.ScanFrequency != want {
				continue
			}
			for _, f := range r.Filters {
				if scanningFilterMatches(f, repo.Name) {
					filters = append(filters, f)
				}
			}
		}
		return filters
	}
	if c.ScanType == ScanTypeEnhanced {
		if f := matching(FrequencyContinuousScan); len(f) > 0 {
			return FrequencyContinuousScan, f
		}
		if f := matching(FrequencyScanOnPush); len(f) > 0 {
			return FrequencyScanOnPush, f
		}
		return FrequencyManual, nil
	}
	if f := matching(FrequencyScanOnPush); len(f) > 0 || repo.ScanOnPush {
		return FrequencyScanOnPush, f
	}
	return FrequencyManual, nil
}

// Enhanced reports whether images of repo are scanned the enhanced way.
func (c ScanningConfig) Enhanced(repo Repository) bool {
	freq, _ := c.Frequency(repo)
	return c.ScanType == ScanTypeEnhanced && freq != FrequencyManual
}

// Continuous reports whether images of repo are scanned continuously (an
// ENHANCED CONTINUOUS_SCAN rule matches it).
func (c ScanningConfig) Continuous(repo Repository) bool {
	freq, _ := c.Frequency(repo)
	return c.ScanType == ScanTypeEnhanced && freq == FrequencyContinuousScan
}

// OnPushDue reports whether img, which has no scan record, is to be
// scanned because it was pushed, as far as the configuration tells: its
// repository scans on push (or continuously, which includes new images)
// and, for a registry BASIC rule, it was pushed after the rule was set. An
// enhanced configuration covers the images already there too, as
// Inspector scans a repository's existing images when enhanced scanning is
// turned on. Whether the scanner reads img at all is scanpolicy's to say.
func (c ScanningConfig) OnPushDue(repo Repository, img Image) bool {
	freq, applied := c.Frequency(repo)
	switch {
	case freq == FrequencyManual:
		return false
	case c.ScanType == ScanTypeEnhanced:
		return true
	case repo.ScanOnPush:
		return true
	}
	// Only a BASIC rule: images pushed before it are scanned manually.
	return len(applied) > 0 && !img.PushedAt.Before(c.UpdatedAt)
}
