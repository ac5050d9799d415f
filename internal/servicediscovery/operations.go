package servicediscovery

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/servicediscovery/sdstate"
	"github.com/berth/berth/internal/servicediscovery/sdtypes"
	"github.com/berth/berth/internal/store"
)

func (c *CloudMap) getOperation(ctx context.Context, in *sdtypes.GetOperationRequest) (*sdtypes.GetOperationResponse, error) {
	id := awsapi.Deref(in.OperationId)
	op, err := store.Get[sdstate.Operation](ctx, c.store, sdstate.OperationKey(region(ctx), id))
	// Every operation is of the one account berth serves: none of another
	// owner's shared namespace.
	if owner := awsapi.Deref(in.OwnerAccount); errors.Is(err, store.ErrNotFound) || (owner != "" && owner != c.account) {
		return nil, awsapi.WithMessage(errOperationNotFound, "Operation not found: %s", id) // UNVERIFIED wording
	}
	if err != nil {
		return nil, err
	}
	o := op.Value
	return &sdtypes.GetOperationResponse{Operation: &sdtypes.Operation{
		Id: awsapi.String(o.ID), Type: awsapi.String(o.Type), Status: awsapi.String(o.Status),
		ErrorCode: awsapi.OptionalString(o.ErrorCode), ErrorMessage: awsapi.OptionalString(o.ErrorMessage),
		CreateDate: awsapi.Time(o.CreateDate), UpdateDate: awsapi.Time(o.UpdateDate), Targets: o.Targets,
	}}, nil
}

func (c *CloudMap) listOperations(ctx context.Context, in *sdtypes.ListOperationsRequest) (*sdtypes.ListOperationsResponse, error) {
	var tests []func(sdstate.Operation) bool
	for _, f := range in.Filters {
		test, err := operationFilter(f)
		if err != nil {
			return nil, err
		}
		tests = append(tests, test)
	}
	all, _, err := store.List[sdstate.Operation](ctx, c.store, sdstate.RegionPrefix(sdstate.OperationPrefix, region(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var matched []sdstate.Operation
	for _, o := range all {
		if !slices.ContainsFunc(tests, func(test func(sdstate.Operation) bool) bool { return !test(o.Value) }) {
			matched = append(matched, o.Value)
		}
	}
	page, next, err := paginate(matched, func(o sdstate.Operation) string { return o.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &sdtypes.ListOperationsResponse{Operations: []sdtypes.OperationSummary{}, NextToken: next}
	for _, o := range page {
		out.Operations = append(out.Operations, sdtypes.OperationSummary{Id: awsapi.String(o.ID), Status: awsapi.String(o.Status)})
	}
	return out, nil
}

// operationFilter is the test one of ListOperations' filters makes.
func operationFilter(f sdtypes.OperationFilter) (func(sdstate.Operation) bool, error) {
	name, cond := awsapi.Deref(f.Name), awsapi.Deref(f.Condition)
	if cond == "" {
		cond = sdtypes.FilterConditionEq
	}
	eqIn := []string{sdtypes.FilterConditionEq, sdtypes.FilterConditionIn}
	switch name {
	case sdtypes.OperationFilterNameNamespaceId:
		values := make([]string, len(f.Values))
		for i, v := range f.Values {
			values[i] = namespaceID(v)
		}
		return stringFilter(name, cond, values, []string{sdtypes.FilterConditionEq}, func(o sdstate.Operation) string { return o.Targets[sdstate.TargetNamespace] })
	case sdtypes.OperationFilterNameServiceId:
		values := make([]string, len(f.Values))
		for i, v := range f.Values {
			values[i] = serviceID(v)
		}
		return stringFilter(name, cond, values, []string{sdtypes.FilterConditionEq}, func(o sdstate.Operation) string { return o.Targets[sdstate.TargetService] })
	case sdtypes.OperationFilterNameStatus:
		return stringFilter(name, cond, f.Values, eqIn, func(o sdstate.Operation) string { return o.Status })
	case sdtypes.OperationFilterNameType:
		return stringFilter(name, cond, f.Values, eqIn, func(o sdstate.Operation) string { return o.Type })
	}
	// UPDATE_DATE: BETWEEN two times, in seconds since the epoch.
	if cond != sdtypes.FilterConditionBetween || len(f.Values) != 2 {
		return nil, invalidInput("The UPDATE_DATE filter takes the BETWEEN condition and two dates.") // UNVERIFIED wording
	}
	var bounds [2]time.Time
	for i, v := range f.Values {
		secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			t, terr := time.Parse(time.RFC3339, v)
			if terr != nil {
				return nil, invalidInput("The date %s is not valid.", v) // UNVERIFIED wording
			}
			bounds[i] = t
			continue
		}
		bounds[i] = time.UnixMilli(int64(secs * 1000))
	}
	return func(o sdstate.Operation) bool {
		return !o.UpdateDate.Before(bounds[0]) && !o.UpdateDate.After(bounds[1])
	}, nil
}

// RunWorker carries out the submitted operations, applies custom health
// statuses once their delay has passed, and runs the Route 53 health
// checks, until ctx ends. An
// operation whose change failed for a reason of berth's own (the store)
// is tried again every second.
func (c *CloudMap) RunWorker(ctx context.Context) error {
	failed := map[string]bool{}
	events, err := c.watchOperations(ctx, failed)
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	checks := newHealthChecks()
	checkTick := time.NewTicker(checkInterval)
	defer checkTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				// The watch broke: list again what is left to do.
				if events, err = c.watchOperations(ctx, failed); err != nil {
					return err
				}
				continue
			}
			if ev.Type == store.EventPut && strings.Contains(string(ev.KV.Value), `"status":"SUBMITTED"`) {
				c.execute(ctx, ev.KV.Key, failed)
			}
		case <-tick.C:
			for key := range failed {
				c.execute(ctx, key, failed)
			}
			if err := sdstate.SettleHealth(ctx, c.store, c.now().UTC()); err != nil && ctx.Err() == nil {
				c.log.Error("applying custom health statuses", "err", err)
			}
		case <-checkTick.C:
			if err := c.checkAll(ctx, checks); err != nil && ctx.Err() == nil {
				c.log.Error("Route 53 health checks", "err", err)
			}
		}
	}
}

// watchOperations carries out every operation not yet done, and returns a
// watch of the operations from the revision listed.
func (c *CloudMap) watchOperations(ctx context.Context, failed map[string]bool) (<-chan store.Event, error) {
	var open []string
	rev, err := c.store.Range(ctx, sdstate.OperationPrefix, func(kv store.KV) error {
		v := string(kv.Value)
		if strings.Contains(v, `"status":"SUBMITTED"`) || strings.Contains(v, `"status":"PENDING"`) {
			open = append(open, kv.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	events, err := c.store.Watch(ctx, sdstate.OperationPrefix, rev)
	if err != nil {
		return nil, err
	}
	for _, key := range open {
		c.execute(ctx, key, failed)
	}
	return events, nil
}

func (c *CloudMap) execute(ctx context.Context, key string, failed map[string]bool) {
	err := sdstate.Execute(ctx, c.store, key, c.now)
	if err != nil && ctx.Err() == nil {
		c.log.Error("carrying out an operation; trying again", "operation", key, "err", err)
		failed[key] = true
		return
	}
	delete(failed, key)
}
