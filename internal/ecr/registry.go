package ecr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/registry"
	"github.com/berth/berth/internal/store"
)

// Registry-level operations: authorization, the registry description and
// the registry scanning configuration.

func (s *service) getAuthorizationToken(ctx context.Context, in *GetAuthorizationTokenRequest) (*GetAuthorizationTokenResponse, error) {
	for _, id := range in.RegistryIds {
		if err := s.ownRegistry("registryIds", id); err != nil {
			return nil, err
		}
	}
	password, expires := s.tokens.Issue(awsapi.RequestFrom(ctx).AccessKeyID)
	data := AuthorizationData{
		AuthorizationToken: awsapi.String(base64.StdEncoding.EncodeToString([]byte("AWS:" + password))),
		ExpiresAt:          awsapi.Time(expires),
		// ECR advertises https://<registry host>; berth's registry is served
		// on the gateway's plain-HTTP port.
		ProxyEndpoint: awsapi.String("http://" + s.host),
	}
	// One entry per registry asked for; every one is this registry.
	out := &GetAuthorizationTokenResponse{AuthorizationData: []AuthorizationData{data}}
	for range max(len(in.RegistryIds)-1, 0) {
		out.AuthorizationData = append(out.AuthorizationData, data)
	}
	return out, nil
}

func (s *service) describeRegistry(context.Context, *DescribeRegistryRequest) (*DescribeRegistryResponse, error) {
	// berth does not replicate.
	return &DescribeRegistryResponse{
		RegistryId:               awsapi.String(s.account),
		ReplicationConfiguration: &ReplicationConfiguration{Rules: []ReplicationRule{}},
	}, nil
}

// ScanningKey holds the registry scanning configuration.
const ScanningKey = "ecr/registry/scanning"

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

const scanningFilterPattern = `^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$`

var scanningFilterRE = regexp.MustCompile(scanningFilterPattern)

func (c ScanningConfig) output() *RegistryScanningConfiguration {
	out := &RegistryScanningConfiguration{ScanType: awsapi.String(c.ScanType), Rules: []RegistryScanningRule{}}
	for _, r := range c.Rules {
		out.Rules = append(out.Rules, RegistryScanningRule{ScanFrequency: awsapi.String(r.ScanFrequency), RepositoryFilters: filtersOutput(r.Filters)})
	}
	return out
}

func filtersOutput(filters []string) []ScanningRepositoryFilter {
	out := []ScanningRepositoryFilter{}
	for _, f := range filters {
		out = append(out, ScanningRepositoryFilter{Filter: awsapi.String(f), FilterType: awsapi.String(ScanningRepositoryFilterTypeWildcard)})
	}
	return out
}

// LoadScanningConfig reads the registry scanning configuration; a registry
// that never set one scans BASIC without rules.
func LoadScanningConfig(ctx context.Context, st store.Store) (ScanningConfig, error) {
	cfg := ScanningConfig{ScanType: ScanTypeBasic}
	kv, _, err := st.Get(ctx, ScanningKey)
	if errors.Is(err, store.ErrNotFound) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(kv.Value, &cfg); err != nil {
		return cfg, fmt.Errorf("decode %s: %w", ScanningKey, err)
	}
	return cfg, nil
}

// scanningFilterMatches applies one WILDCARD filter as ECR does: a filter
// without `*` matches every repository whose name contains it; with `*`,
// the whole name must match, `*` standing for any run of characters.
func scanningFilterMatches(filter, repo string) bool {
	if !strings.Contains(filter, "*") {
		return strings.Contains(repo, filter)
	}
	return registry.MatchWildcard(filter, repo)
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
func (c ScanningConfig) Frequency(repo registry.Repository) (freq string, applied []string) {
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
		if f := matching(ScanFrequencyContinuousScan); len(f) > 0 {
			return ScanFrequencyContinuousScan, f
		}
		if f := matching(ScanFrequencyScanOnPush); len(f) > 0 {
			return ScanFrequencyScanOnPush, f
		}
		return ScanFrequencyManual, nil
	}
	if f := matching(ScanFrequencyScanOnPush); len(f) > 0 || repo.ScanOnPush {
		return ScanFrequencyScanOnPush, f
	}
	return ScanFrequencyManual, nil
}

// Enhanced reports whether images of repo are scanned the enhanced way.
func (c ScanningConfig) Enhanced(repo registry.Repository) bool {
	freq, _ := c.Frequency(repo)
	return c.ScanType == ScanTypeEnhanced && freq != ScanFrequencyManual
}

// checkScanning validates a registry scanning configuration: BASIC scanning
// runs on push only; ENHANCED on push or continuously.
func checkScanning(scanType string, rules []RegistryScanningRule) (ScanningConfig, error) {
	if scanType == "" {
		scanType = ScanTypeBasic
	}
	cfg := ScanningConfig{ScanType: scanType}
	var allowed []string
	switch scanType {
	case ScanTypeBasic:
		allowed = []string{ScanFrequencyScanOnPush}
	case ScanTypeEnhanced:
		allowed = []string{ScanFrequencyScanOnPush, ScanFrequencyContinuousScan}
	default:
		return cfg, validationError("scanType", scanType, "Member must satisfy enum value set: [BASIC, ENHANCED]")
	}
	if len(rules) > 2 {
		return cfg, validationError("rules", "", "Member must have length less than or equal to 2")
	}
	for i, r := range rules {
		path := fmt.Sprintf("rules.member.%d", i+1)
		freq := awsapi.Deref(r.ScanFrequency)
		switch freq {
		case ScanFrequencyScanOnPush, ScanFrequencyContinuousScan, ScanFrequencyManual:
		default:
			return cfg, validationError(path+".scanFrequency", freq, "Member must satisfy enum value set: [SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL]")
		}
		if !slices.Contains(allowed, freq) {
			// UNVERIFIED wording.
			return cfg, invalidParameter(path+".scanFrequency", fmt.Sprintf("scanFrequency %s is not supported for scanType %s", freq, scanType))
		}
		if len(r.RepositoryFilters) > 100 {
			return cfg, validationError(path+".repositoryFilters", "", "Member must have length less than or equal to 100")
		}
		rule := ScanningRule{ScanFrequency: freq, Filters: []string{}}
		for j, f := range r.RepositoryFilters {
			fpath := fmt.Sprintf("%s.repositoryFilters.member.%d", path, j+1)
			if t := awsapi.Deref(f.FilterType); t != ScanningRepositoryFilterTypeWildcard {
				return cfg, validationError(fpath+".filterType", t, "Member must satisfy enum value set: [WILDCARD]")
			}
			v := awsapi.Deref(f.Filter)
			if len(v) < 1 || len(v) > 255 || !scanningFilterRE.MatchString(v) {
				return cfg, validationError(fpath+".filter", v, "Member must satisfy regular expression pattern: "+scanningFilterPattern)
			}
			rule.Filters = append(rule.Filters, v)
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	return cfg, nil
}

func (s *service) putRegistryScanningConfiguration(ctx context.Context, in *PutRegistryScanningConfigurationRequest) (*PutRegistryScanningConfigurationResponse, error) {
	cfg, err := checkScanning(awsapi.Deref(in.ScanType), in.Rules)
	if err != nil {
		return nil, err
	}
	cfg.UpdatedAt = s.now()
	if err := s.storeJSON(ctx, ScanningKey, cfg); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: registry scanning configuration set", "scanType", cfg.ScanType, "rules", len(cfg.Rules))
	return &PutRegistryScanningConfigurationResponse{RegistryScanningConfiguration: cfg.output()}, nil
}

func (s *service) getRegistryScanningConfiguration(ctx context.Context, _ *GetRegistryScanningConfigurationRequest) (*GetRegistryScanningConfigurationResponse, error) {
	cfg, err := LoadScanningConfig(ctx, s.store)
	if err != nil {
		return nil, err
	}
	return &GetRegistryScanningConfigurationResponse{RegistryId: awsapi.String(s.account), ScanningConfiguration: cfg.output()}, nil
}
