package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/ecrtypes"
	"github.com/berth/berth/internal/store"
)

// Registry-level operations: authorization, the registry description, the
// registry scanning configuration and the registry policy.

func (s *service) getAuthorizationToken(ctx context.Context, in *ecrtypes.GetAuthorizationTokenRequest) (*ecrtypes.GetAuthorizationTokenResponse, error) {
	for _, id := range in.RegistryIds {
		if err := s.ownRegistry("registryIds", id); err != nil {
			return nil, err
		}
	}
	req := awsapi.RequestFrom(ctx)
	password, expires := s.tokens.Issue(req.AccessKeyID, req.Region)
	data := ecrtypes.AuthorizationData{
		AuthorizationToken: awsapi.String(base64.StdEncoding.EncodeToString([]byte("AWS:" + password))),
		ExpiresAt:          awsapi.Time(expires),
		// ECR advertises https://<registry host>; berth's registry is served
		// on the gateway's plain-HTTP port.
		ProxyEndpoint: awsapi.String("http://" + s.host),
	}
	// One entry per registry asked for; every one is this registry.
	out := &ecrtypes.GetAuthorizationTokenResponse{AuthorizationData: []ecrtypes.AuthorizationData{data}}
	for range max(len(in.RegistryIds)-1, 0) {
		out.AuthorizationData = append(out.AuthorizationData, data)
	}
	return out, nil
}

func (s *service) describeRegistry(context.Context, *ecrtypes.DescribeRegistryRequest) (*ecrtypes.DescribeRegistryResponse, error) {
	// berth does not replicate.
	return &ecrtypes.DescribeRegistryResponse{
		RegistryId:               awsapi.String(s.account),
		ReplicationConfiguration: &ecrtypes.ReplicationConfiguration{Rules: []ecrtypes.ReplicationRule{}},
	}, nil
}

const scanningFilterPattern = `^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$`

var scanningFilterRE = regexp.MustCompile(scanningFilterPattern)

func scanningConfigOutput(c ecrstate.ScanningConfig) *ecrtypes.RegistryScanningConfiguration {
	out := &ecrtypes.RegistryScanningConfiguration{ScanType: awsapi.String(c.ScanType), Rules: []ecrtypes.RegistryScanningRule{}}
	for _, r := range c.Rules {
		out.Rules = append(out.Rules, ecrtypes.RegistryScanningRule{ScanFrequency: awsapi.String(r.ScanFrequency), RepositoryFilters: filtersOutput(r.Filters)})
	}
	return out
}

func filtersOutput(filters []string) []ecrtypes.ScanningRepositoryFilter {
	out := []ecrtypes.ScanningRepositoryFilter{}
	for _, f := range filters {
		out = append(out, ecrtypes.ScanningRepositoryFilter{Filter: awsapi.String(f), FilterType: awsapi.String(ecrtypes.ScanningRepositoryFilterTypeWildcard)})
	}
	return out
}

// checkScanning validates a registry scanning configuration: BASIC scanning
// runs on push only; ENHANCED on push or continuously.
func checkScanning(scanType string, rules []ecrtypes.RegistryScanningRule) (ecrstate.ScanningConfig, error) {
	if scanType == "" {
		scanType = ecrtypes.ScanTypeBasic
	}
	cfg := ecrstate.ScanningConfig{ScanType: scanType}
	var allowed []string
	switch scanType {
	case ecrtypes.ScanTypeBasic:
		allowed = []string{ecrtypes.ScanFrequencyScanOnPush}
	case ecrtypes.ScanTypeEnhanced:
		allowed = []string{ecrtypes.ScanFrequencyScanOnPush, ecrtypes.ScanFrequencyContinuousScan}
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
		case ecrtypes.ScanFrequencyScanOnPush, ecrtypes.ScanFrequencyContinuousScan, ecrtypes.ScanFrequencyManual:
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
		rule := ecrstate.ScanningRule{ScanFrequency: freq, Filters: []string{}}
		for j, f := range r.RepositoryFilters {
			fpath := fmt.Sprintf("%s.repositoryFilters.member.%d", path, j+1)
			if t := awsapi.Deref(f.FilterType); t != ecrtypes.ScanningRepositoryFilterTypeWildcard {
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

func (s *service) putRegistryScanningConfiguration(ctx context.Context, in *ecrtypes.PutRegistryScanningConfigurationRequest) (*ecrtypes.PutRegistryScanningConfigurationResponse, error) {
	cfg, err := checkScanning(awsapi.Deref(in.ScanType), in.Rules)
	if err != nil {
		return nil, err
	}
	cfg.UpdatedAt = s.now()
	if err := s.storeJSON(ctx, ecrstate.ScanningKey(awsapi.RequestFrom(ctx).Region), cfg); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: registry scanning configuration set", "scanType", cfg.ScanType, "rules", len(cfg.Rules))
	return &ecrtypes.PutRegistryScanningConfigurationResponse{RegistryScanningConfiguration: scanningConfigOutput(cfg)}, nil
}

func (s *service) getRegistryScanningConfiguration(ctx context.Context, _ *ecrtypes.GetRegistryScanningConfigurationRequest) (*ecrtypes.GetRegistryScanningConfigurationResponse, error) {
	cfg, err := ecrstate.LoadScanningConfig(ctx, s.store, awsapi.RequestFrom(ctx).Region)
	if err != nil {
		return nil, err
	}
	return &ecrtypes.GetRegistryScanningConfigurationResponse{RegistryId: awsapi.String(s.account), ScanningConfiguration: scanningConfigOutput(cfg)}, nil
}

// The registry policy grants other accounts replication and pull-through
// cache rights; berth serves one account and replicates nothing, so the
// policy is kept and answered for the tools that manage it, and grants
// nothing.

func (s *service) putRegistryPolicy(ctx context.Context, in *ecrtypes.PutRegistryPolicyRequest) (*ecrtypes.PutRegistryPolicyResponse, error) {
	text := awsapi.Deref(in.PolicyText)
	// UNVERIFIED wording, as ECR words an invalid repository policy.
	if err := checkPolicyDocument(text, invalidParameter("PolicyText", "Invalid registry policy provided")); err != nil {
		return nil, err
	}
	region := awsapi.RequestFrom(ctx).Region
	if err := s.storeJSON(ctx, ecrstate.RegistryPolicyKey(region), ecrstate.RegistryPolicy{Text: text, UpdatedAt: s.now()}); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: registry policy set", "region", region)
	return &ecrtypes.PutRegistryPolicyResponse{RegistryId: awsapi.String(s.account), PolicyText: awsapi.String(text)}, nil
}

func (s *service) getRegistryPolicy(ctx context.Context, _ *ecrtypes.GetRegistryPolicyRequest) (*ecrtypes.GetRegistryPolicyResponse, error) {
	v, err := store.Get[ecrstate.RegistryPolicy](ctx, s.store, ecrstate.RegistryPolicyKey(awsapi.RequestFrom(ctx).Region))
	if errors.Is(err, store.ErrNotFound) {
		return nil, subject{}.wrap(errRegistryPolicyNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &ecrtypes.GetRegistryPolicyResponse{RegistryId: awsapi.String(s.account), PolicyText: awsapi.String(v.Value.Text)}, nil
}

func (s *service) deleteRegistryPolicy(ctx context.Context, _ *ecrtypes.DeleteRegistryPolicyRequest) (*ecrtypes.DeleteRegistryPolicyResponse, error) {
	key := ecrstate.RegistryPolicyKey(awsapi.RequestFrom(ctx).Region)
	var deleted string
	err := store.Retry(ctx, func() error {
		v, err := store.Get[ecrstate.RegistryPolicy](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return subject{}.wrap(errRegistryPolicyNotFound)
		}
		if err != nil {
			return err
		}
		deleted = v.Value.Text
		_, err = s.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: key, ModRevision: v.ModRevision}}, Then: []store.Op{store.Delete(key)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "ecr: registry policy deleted", "region", awsapi.RequestFrom(ctx).Region)
	return &ecrtypes.DeleteRegistryPolicyResponse{RegistryId: awsapi.String(s.account), PolicyText: awsapi.String(deleted)}, nil
}
