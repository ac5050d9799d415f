package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// Service deployments (DescribeServiceDeployments, ListServiceDeployments)
// are berth's deployments seen through ECS's newer API. Their status:
//
//   - a PRIMARY deployment whose rollout is IN_PROGRESS: IN_PROGRESS;
//   - a rollout COMPLETED: SUCCESSFUL;
//   - a rollout FAILED that the circuit breaker rolled back: while the
//     rollback deployment runs, ROLLBACK_IN_PROGRESS; once it COMPLETED,
//     ROLLBACK_SUCCESSFUL; if it FAILED, ROLLBACK_FAILED; if it was
//     itself replaced before finishing, STOPPED;
//   - a rollout FAILED without rollback: STOPPED (the model: a service
//     deployment stops when the service fails and the rollback option is
//     not in use);
//   - a deployment replaced by a newer one before it completed: STOPPED.
//
// A rollback deployment is part of the service deployment it rolls back
// (its rollback), so ListServiceDeployments does not list it on its own;
// DescribeServiceDeployments still describes it by its ARN.

// serviceDeploymentFailure is the failure reason for an ARN that names no
// deployment (UNVERIFIED: DescribeServices' MISSING).
const serviceDeploymentMissing = "MISSING"

// allDeployments are a service's live deployments then its finished ones.
func allDeployments(svc *ecsstate.Service) []*ecsstate.Deployment {
	out := make([]*ecsstate.Deployment, 0, len(svc.Deployments)+len(svc.History))
	for i := range svc.Deployments {
		out = append(out, &svc.Deployments[i])
	}
	for i := range svc.History {
		out = append(out, &svc.History[i])
	}
	return out
}

func isLive(svc *ecsstate.Service, d *ecsstate.Deployment) bool {
	for i := range svc.Deployments {
		if &svc.Deployments[i] == d {
			return d.Status != ecsstate.DeploymentInactive
		}
	}
	return false
}

// rollbackOf returns the deployment that rolls d back, if any.
func rollbackOf(svc *ecsstate.Service, d *ecsstate.Deployment) *ecsstate.Deployment {
	for _, r := range allDeployments(svc) {
		if r.RollbackOf == d.ID {
			return r
		}
	}
	return nil
}

// finishedAt is when a deployment's rollout ended: its FinishedAt when it
// became INACTIVE, else its last update.
func finishedAt(d *ecsstate.Deployment) time.Time {
	if !d.FinishedAt.IsZero() {
		return d.FinishedAt
	}
	return d.UpdatedAt
}

// serviceDeploymentStatus maps a deployment to its service deployment
// status, with the time it reached a final status (zero while not).
func serviceDeploymentStatus(svc *ecsstate.Service, d *ecsstate.Deployment) (status string, final time.Time) {
	switch d.RolloutState {
	case scheduler.RolloutCompleted:
		return ecstypes.ServiceDeploymentStatusSuccessful, finishedAt(d)
	case scheduler.RolloutFailed:
		if !d.RolledBack {
			return ecstypes.ServiceDeploymentStatusStopped, finishedAt(d)
		}
		r := rollbackOf(svc, d)
		switch {
		case r == nil:
			return ecstypes.ServiceDeploymentStatusRollbackInProgress, time.Time{}
		case r.RolloutState == scheduler.RolloutCompleted:
			return ecstypes.ServiceDeploymentStatusRollbackSuccessful, finishedAt(r)
		case r.RolloutState == scheduler.RolloutFailed:
			return ecstypes.ServiceDeploymentStatusRollbackFailed, finishedAt(r)
		case !isLive(svc, r) || r.Status != ecsstate.DeploymentPrimary:
			return ecstypes.ServiceDeploymentStatusStopped, finishedAt(r)
		}
		return ecstypes.ServiceDeploymentStatusRollbackInProgress, time.Time{}
	}
	if d.Status == ecsstate.DeploymentPrimary && isLive(svc, d) {
		return ecstypes.ServiceDeploymentStatusInProgress, time.Time{}
	}
	return ecstypes.ServiceDeploymentStatusStopped, finishedAt(d)
}

// statusReason is a service deployment's statusReason: its rollout's
// reason, except the "in progress" one of a deployment that was replaced
// before it finished.
func statusReason(d *ecsstate.Deployment, status string) string {
	switch {
	case d.RolloutState == scheduler.RolloutInProgress && status == ecstypes.ServiceDeploymentStatusStopped:
		return ""
	case status == ecstypes.ServiceDeploymentStatusSuccessful:
		return "" // ECS gives no reason for a success (the CLI's documented outputs)
	}
	return d.RolloutStateReason
}

func (s *service) revisionSummary(svc *ecsstate.Service, d *ecsstate.Deployment) ecstypes.ServiceRevisionSummary {
	return ecstypes.ServiceRevisionSummary{
		Arn:                awsapi.String(s.arnsIn(svc.Region).ServiceRevision(svc.Cluster, svc.Name, d.ID)),
		RequestedTaskCount: awsapi.Int32(d.DesiredCount),
		RunningTaskCount:   awsapi.Int32(d.RunningCount),
		PendingTaskCount:   awsapi.Int32(d.PendingCount),
	}
}

// sourceRevisions are the revisions a deployment replaces: for the live
// PRIMARY the other live deployments; once they are gone, or for a
// finished one, the deployment created just before it (berth does not
// record more).
func (s *service) sourceRevisions(svc *ecsstate.Service, d *ecsstate.Deployment) []ecstypes.ServiceRevisionSummary {
	out := []ecstypes.ServiceRevisionSummary{}
	if d.Status == ecsstate.DeploymentPrimary && isLive(svc, d) {
		for i := range svc.Deployments {
			o := &svc.Deployments[i]
			if o != d && o.Status != ecsstate.DeploymentInactive {
				out = append(out, s.revisionSummary(svc, o))
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	var prev *ecsstate.Deployment
	for _, o := range allDeployments(svc) {
		if o.CreatedAt.Before(d.CreatedAt) && (prev == nil || o.CreatedAt.After(prev.CreatedAt)) {
			prev = o
		}
	}
	if prev != nil {
		out = append(out, s.revisionSummary(svc, prev))
	}
	return out
}

func (s *service) serviceDeploymentOutput(svc *ecsstate.Service, d *ecsstate.Deployment) ecstypes.ServiceDeployment {
	status, final := serviceDeploymentStatus(svc, d)
	dc := svc.DeploymentConfiguration
	target := s.revisionSummary(svc, d)
	out := ecstypes.ServiceDeployment{
		ServiceDeploymentArn:    awsapi.String(s.arnsIn(svc.Region).ServiceDeployment(svc.Cluster, svc.Name, d.ID)),
		ServiceArn:              awsapi.String(s.arnsIn(svc.Region).Service(svc.Cluster, svc.Name)),
		ClusterArn:              awsapi.String(s.arnsIn(svc.Region).Cluster(svc.Cluster)),
		CreatedAt:               awsapi.Time(d.CreatedAt),
		StartedAt:               awsapi.Time(d.CreatedAt),
		UpdatedAt:               awsapi.Time(d.UpdatedAt),
		SourceServiceRevisions:  s.sourceRevisions(svc, d),
		TargetServiceRevision:   &target,
		Status:                  awsapi.String(status),
		DeploymentConfiguration: &dc,
		StatusReason:            awsapi.OptionalString(statusReason(d, status)),
	}
	if !final.IsZero() {
		out.FinishedAt = awsapi.Time(final)
		if status == ecstypes.ServiceDeploymentStatusStopped {
			out.StoppedAt = awsapi.Time(final)
		}
	}
	if d.RolledBack {
		if r := rollbackOf(svc, d); r != nil {
			out.Rollback = &ecstypes.Rollback{
				Reason:             awsapi.String(scheduler.ReasonRollingBack(r.RollbackTo)),
				StartedAt:          awsapi.Time(r.CreatedAt),
				ServiceRevisionArn: awsapi.String(s.arnsIn(svc.Region).ServiceRevision(svc.Cluster, svc.Name, r.ID)),
			}
		}
	}
	breaker := ecstypes.ServiceDeploymentCircuitBreaker{
		Status:       awsapi.String(ecstypes.ServiceDeploymentRollbackMonitorsStatusDisabled),
		FailureCount: awsapi.Int32(d.FailedTasks),
		Threshold:    awsapi.Int32(int32(scheduler.BreakerThreshold(int(d.DesiredCount)))),
	}
	if cb := dc.DeploymentCircuitBreaker; cb != nil && awsapi.Deref(cb.Enable) {
		switch {
		case d.RolloutState == scheduler.RolloutFailed && d.RolloutStateReason == scheduler.ReasonBreakerFailed, d.RolledBack:
			breaker.Status = awsapi.String(ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered)
		case !final.IsZero():
			breaker.Status = awsapi.String(ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete)
		default:
			breaker.Status = awsapi.String(ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoring)
		}
	}
	out.DeploymentCircuitBreaker = &breaker
	// Disabled alarms are their status alone, as ECS answers them.
	alarms := ecstypes.ServiceDeploymentAlarms{Status: awsapi.String(ecstypes.ServiceDeploymentRollbackMonitorsStatusDisabled)}
	if a := dc.Alarms; a != nil && awsapi.Deref(a.Enable) {
		alarms.AlarmNames, alarms.TriggeredAlarmNames = nonNil(a.AlarmNames), []string{}
		alarms.Status = awsapi.String(ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoring)
		if !final.IsZero() {
			alarms.Status = awsapi.String(ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete)
		}
	}
	out.Alarms = &alarms
	return out
}

func (s *service) describeServiceDeployments(ctx context.Context, in *ecstypes.DescribeServiceDeploymentsRequest) (*ecstypes.DescribeServiceDeploymentsResponse, error) {
	switch n := len(in.ServiceDeploymentArns); {
	case n == 0:
		// UNVERIFIED wording.
		return nil, invalidParameter("serviceDeploymentArns cannot be empty.")
	case n > maxDescribeDeployments:
		// UNVERIFIED wording, as ECS words other list limits.
		return nil, invalidParameter("serviceDeploymentArns can have at most %d items.", maxDescribeDeployments)
	}
	out := &ecstypes.DescribeServiceDeploymentsResponse{ServiceDeployments: []ecstypes.ServiceDeployment{}, Failures: []ecstypes.Failure{}}
	services := map[string]*ecsstate.Service{}
	for _, arn := range in.ServiceDeploymentArns {
		missing := ecstypes.Failure{Arn: awsapi.String(arn), Reason: awsapi.String(serviceDeploymentMissing)}
		res, ok := s.ecsResource(requestRegion(ctx), arn)
		rest, isDeployment := strings.CutPrefix(res, "service-deployment/")
		parts := strings.Split(rest, "/")
		if !ok || !isDeployment || len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			out.Failures = append(out.Failures, missing)
			continue
		}
		key := ecsstate.ServiceKey(requestRegion(ctx), parts[0], parts[1])
		svc, seen := services[key]
		if !seen {
			rec, err := store.Get[ecsstate.Service](ctx, s.store, key)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if err == nil {
				svc = &rec.Value
			}
			services[key] = svc
		}
		var found *ecsstate.Deployment
		if svc != nil {
			for _, d := range allDeployments(svc) {
				if d.ID == scheduler.DeploymentIDPrefix+parts[2] {
					found = d
					break
				}
			}
		}
		if found == nil {
			out.Failures = append(out.Failures, missing)
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, s.serviceDeploymentOutput(svc, found))
	}
	return out, nil
}

func (s *service) listServiceDeployments(ctx context.Context, in *ecstypes.ListServiceDeploymentsRequest) (*ecstypes.ListServiceDeploymentsResponse, error) {
	limit := defaultDeploymentsPage
	if in.MaxResults != nil {
		var err error
		if limit, err = pageSize(in.MaxResults); err != nil {
			return nil, err
		}
	}
	after, err := decodeToken(in.NextToken, "ListServiceDeployments")
	if err != nil {
		return nil, err
	}
	for _, st := range in.Status {
		switch st {
		case ecstypes.ServiceDeploymentStatusPending, ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusStopped,
			ecstypes.ServiceDeploymentStatusStopRequested, ecstypes.ServiceDeploymentStatusInProgress, ecstypes.ServiceDeploymentStatusRollbackRequested,
			ecstypes.ServiceDeploymentStatusRollbackInProgress, ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		default:
			// UNVERIFIED wording; the model's enum usually catches it.
			return nil, invalidParameter("Invalid status filter: %s.", st)
		}
	}
	c, name, err := s.namedService(ctx, in.Cluster, awsapi.Deref(in.Service), false)
	if err != nil {
		return nil, err
	}
	rec, err := store.Get[ecsstate.Service](ctx, s.store, ecsstate.ServiceKey(requestRegion(ctx), c.Value.Name, name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errServiceNotFound
	}
	if err != nil {
		return nil, err
	}
	svc := &rec.Value
	deps := allDeployments(svc)
	// Newest first.
	slices.SortStableFunc(deps, func(a, b *ecsstate.Deployment) int { return b.CreatedAt.Compare(a.CreatedAt) })
	var createdAfter, createdBefore time.Time
	if in.CreatedAt != nil {
		if in.CreatedAt.After != nil {
			createdAfter = in.CreatedAt.After.Time
		}
		if in.CreatedAt.Before != nil {
			createdBefore = in.CreatedAt.Before.Time
		}
	}
	out := &ecstypes.ListServiceDeploymentsResponse{ServiceDeployments: []ecstypes.ServiceDeploymentBrief{}}
	started := after == ""
	lastID := ""
	for _, d := range deps {
		if !started {
			started = d.ID == after
			continue
		}
		if d.RollbackOf != "" {
			continue // part of the deployment it rolls back
		}
		if (!createdAfter.IsZero() && d.CreatedAt.Before(createdAfter)) || (!createdBefore.IsZero() && d.CreatedAt.After(createdBefore)) {
			continue
		}
		status, final := serviceDeploymentStatus(svc, d)
		if len(in.Status) > 0 && !slices.Contains(in.Status, status) {
			continue
		}
		if len(out.ServiceDeployments) == limit {
			out.NextToken = encodeToken("ListServiceDeployments", lastID)
			break
		}
		brief := ecstypes.ServiceDeploymentBrief{
			ServiceDeploymentArn:     awsapi.String(s.arnsIn(svc.Region).ServiceDeployment(svc.Cluster, svc.Name, d.ID)),
			ServiceArn:               awsapi.String(s.arnsIn(svc.Region).Service(svc.Cluster, svc.Name)),
			ClusterArn:               awsapi.String(s.arnsIn(svc.Region).Cluster(svc.Cluster)),
			CreatedAt:                awsapi.Time(d.CreatedAt),
			StartedAt:                awsapi.Time(d.CreatedAt),
			TargetServiceRevisionArn: awsapi.String(s.arnsIn(svc.Region).ServiceRevision(svc.Cluster, svc.Name, d.ID)),
			Status:                   awsapi.String(status),
			StatusReason:             awsapi.OptionalString(statusReason(d, status)),
		}
		if !final.IsZero() {
			brief.FinishedAt = awsapi.Time(final)
		}
		out.ServiceDeployments = append(out.ServiceDeployments, brief)
		lastID = d.ID
	}
	return out, nil
}
