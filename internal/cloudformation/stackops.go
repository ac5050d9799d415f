package cloudformation

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/cfnstate"
	"github.com/berth/berth/internal/cloudformation/cfntypes"
	"github.com/berth/berth/internal/store"
)

func (c *CloudFormation) listExports(ctx context.Context, in *cfntypes.ListExportsInput) (*cfntypes.ListExportsOutput, error) {
	region := awsapi.RequestFrom(ctx).Region
	records, _, err := store.List[cfnstate.Export](ctx, c.store, cfnstate.RegionPrefix(cfnstate.ExportPrefix, region), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(records, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &cfntypes.ListExportsOutput{Exports: []cfntypes.Export{}, NextToken: next}
	for _, r := range page {
		out.Exports = append(out.Exports, cfntypes.Export{ExportingStackId: awsapi.String(r.Value.StackID),
			Name: awsapi.String(r.Value.Name), Value: awsapi.String(r.Value.Value)})
	}
	return out, nil
}

func (c *CloudFormation) listImports(ctx context.Context, in *cfntypes.ListImportsInput) (*cfntypes.ListImportsOutput, error) {
	name := awsapi.Deref(in.ExportName)
	exp, err := store.Get[cfnstate.Export](ctx, c.store, cfnstate.ExportKey(awsapi.RequestFrom(ctx).Region, name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, validation("Export '%s' does not exist.", name) // UNVERIFIED
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, id := range exp.Value.Importers {
		parts := strings.Split(id, "/")
		if len(parts) == 3 {
			names = append(names, parts[1])
		}
	}
	slices.Sort(names)
	page, next, err := paginate(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, validation("Export '%s' is not imported by any stack.", name)
	}
	return &cfntypes.ListImportsOutput{Imports: page, NextToken: next}, nil
}

func (c *CloudFormation) updateTerminationProtection(ctx context.Context, in *cfntypes.UpdateTerminationProtectionInput) (*cfntypes.UpdateTerminationProtectionOutput, error) {
	found, err := c.findStack(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	s, err := cfnstate.UpdateStack(ctx, c.store, found.Value.Region, found.Value.UUID, func(s *cfnstate.Stack) ([]store.Op, error) {
		if s.Status == cfnstate.DeleteComplete {
			return nil, stackNotFound(awsapi.Deref(in.StackName))
		}
		s.TerminationProtection = awsapi.Deref(in.EnableTerminationProtection)
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &cfntypes.UpdateTerminationProtectionOutput{StackId: awsapi.String(s.ID)}, nil
}

// cancelUpdateStack turns an update under way into its rollback.
func (c *CloudFormation) cancelUpdateStack(ctx context.Context, in *cfntypes.CancelUpdateStackInput) (*struct{}, error) {
	found, err := c.findStack(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	_, err = cfnstate.UpdateStack(ctx, c.store, found.Value.Region, found.Value.UUID, func(s *cfnstate.Stack) ([]store.Op, error) {
		if s.Status != cfnstate.UpdateInProgress {
			return nil, validation("CancelUpdateStack cannot be called from current stack status") // UNVERIFIED
		}
		for _, id := range sortedResourceIDs(s) {
			if r := s.Resources[id]; r.Settling {
				r.Settling = false
				s.SetResourceStatus(now, id, cfnstate.UpdateFailed, "Resource update cancelled")
			}
		}
		s.Pass++
		s.SetStatus(now, cfnstate.UpdateRollbackInProgress, "User Initiated")
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// continueUpdateRollback goes on with a rollback that failed, counting the
// resources to skip as rolled back.
func (c *CloudFormation) continueUpdateRollback(ctx context.Context, in *cfntypes.ContinueUpdateRollbackInput) (*cfntypes.ContinueUpdateRollbackOutput, error) {
	info := awsapi.RequestFrom(ctx)
	found, err := c.findStack(ctx, info.Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	_, err = cfnstate.UpdateStack(ctx, c.store, found.Value.Region, found.Value.UUID, func(s *cfnstate.Stack) ([]store.Op, error) {
		if s.Status != cfnstate.UpdateRollbackFailed || s.Operation == nil || s.Operation.Previous == nil {
			return nil, validation("Stack %s is in %s state and can not be rolled back.", s.ID, s.Status) // UNVERIFIED
		}
		s.Pass++
		for _, id := range in.ResourcesToSkip {
			r := s.Resources[id]
			if r == nil || r.Status != cfnstate.UpdateFailed {
				return nil, validation("Nested stacks could not be skipped: resource %s is not in UPDATE_FAILED state", id) // UNVERIFIED
			}
			// Skipped: CloudFormation counts it as rolled back as it is.
			r.Pass = s.Pass
			s.SetResourceStatus(now, id, cfnstate.UpdateComplete, "Resource skipped during UpdateRollback")
		}
		s.Caller = info.Caller
		s.SetStatus(now, cfnstate.UpdateRollbackInProgress, "User Initiated")
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &cfntypes.ContinueUpdateRollbackOutput{}, nil
}
