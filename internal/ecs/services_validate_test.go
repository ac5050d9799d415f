package ecs

import (
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
)

func TestServiceDeploymentStatus(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	dep := func(id, status, rollout string) ecsstate.Deployment {
		return ecsstate.Deployment{ID: id, Status: status, RolloutState: rollout, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)}
	}
	failed := func(rolledBack bool) ecsstate.Deployment {
		d := dep("ecs-svc/2", ecsstate.DeploymentActive, scheduler.RolloutFailed)
		d.RolledBack = rolledBack
		return d
	}
	rollback := func(status, rollout string) ecsstate.Deployment {
		d := dep("ecs-svc/3", status, rollout)
		d.RollbackOf = "ecs-svc/2"
		return d
	}
	for _, tc := range []struct {
		name      string
		live      []ecsstate.Deployment
		history   []ecsstate.Deployment
		target    string
		want      string
		wantFinal bool
	}{
		{"primary in progress", []ecsstate.Deployment{dep("ecs-svc/1", ecsstate.DeploymentPrimary, scheduler.RolloutInProgress)}, nil, "ecs-svc/1", "IN_PROGRESS", false},
		{"primary completed", []ecsstate.Deployment{dep("ecs-svc/1", ecsstate.DeploymentPrimary, scheduler.RolloutCompleted)}, nil, "ecs-svc/1", "SUCCESSFUL", true},
		{"replaced while in progress", []ecsstate.Deployment{dep("ecs-svc/2", ecsstate.DeploymentPrimary, scheduler.RolloutInProgress), dep("ecs-svc/1", ecsstate.DeploymentActive, scheduler.RolloutInProgress)}, nil, "ecs-svc/1", "STOPPED", true},
		{"replaced, in history", nil, []ecsstate.Deployment{dep("ecs-svc/1", ecsstate.DeploymentInactive, scheduler.RolloutInProgress)}, "ecs-svc/1", "STOPPED", true},
		{"completed, in history", nil, []ecsstate.Deployment{dep("ecs-svc/1", ecsstate.DeploymentInactive, scheduler.RolloutCompleted)}, "ecs-svc/1", "SUCCESSFUL", true},
		{"failed without rollback", []ecsstate.Deployment{failed(false)}, nil, "ecs-svc/2", "STOPPED", true},
		{"failed, rollback not yet started", []ecsstate.Deployment{failed(true)}, nil, "ecs-svc/2", "ROLLBACK_IN_PROGRESS", false},
		{"rolling back", []ecsstate.Deployment{rollback(ecsstate.DeploymentPrimary, scheduler.RolloutInProgress), failed(true)}, nil, "ecs-svc/2", "ROLLBACK_IN_PROGRESS", false},
		{"rolled back", []ecsstate.Deployment{rollback(ecsstate.DeploymentPrimary, scheduler.RolloutCompleted)}, []ecsstate.Deployment{failed(true)}, "ecs-svc/2", "ROLLBACK_SUCCESSFUL", true},
		{"rollback failed", []ecsstate.Deployment{rollback(ecsstate.DeploymentPrimary, scheduler.RolloutFailed)}, []ecsstate.Deployment{failed(true)}, "ecs-svc/2", "ROLLBACK_FAILED", true},
		{"rollback replaced", []ecsstate.Deployment{dep("ecs-svc/4", ecsstate.DeploymentPrimary, scheduler.RolloutInProgress)}, []ecsstate.Deployment{rollback(ecsstate.DeploymentInactive, scheduler.RolloutInProgress), failed(true)}, "ecs-svc/2", "STOPPED", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &ecsstate.Service{Deployments: tc.live, History: tc.history}
			var target *ecsstate.Deployment
			for _, d := range allDeployments(svc) {
				if d.ID == tc.target {
					target = d
				}
			}
			got, final := serviceDeploymentStatus(svc, target)
			if got != tc.want || final.IsZero() == tc.wantFinal {
				t.Fatalf("got %s (final %v), want %s (final %v)", got, final, tc.want, tc.wantFinal)
			}
		})
	}
}

func TestDeploymentConfigurationDefaultsAndRanges(t *testing.T) {
	got, err := deploymentConfiguration(nil, nil)
	if err != nil || *got.MaximumPercent != 200 || *got.MinimumHealthyPercent != 100 || *got.DeploymentCircuitBreaker.Enable {
		t.Fatalf("defaults %+v %v", got, err)
	}
	merged, err := deploymentConfiguration(&got, &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: awsapi.Int32(50)})
	if err != nil || *merged.MaximumPercent != 200 || *merged.MinimumHealthyPercent != 50 {
		t.Fatalf("merged %+v %v", merged, err)
	}
	for _, tc := range []struct {
		name string
		in   ecstypes.DeploymentConfiguration
		code string
	}{
		{"max below 100", ecstypes.DeploymentConfiguration{MaximumPercent: awsapi.Int32(90)}, "InvalidParameterException"},
		{"min above 100", ecstypes.DeploymentConfiguration{MinimumHealthyPercent: awsapi.Int32(101)}, "InvalidParameterException"},
		{"min negative", ecstypes.DeploymentConfiguration{MinimumHealthyPercent: awsapi.Int32(-1)}, "InvalidParameterException"},
		{"blue/green", ecstypes.DeploymentConfiguration{Strategy: awsapi.String("BLUE_GREEN")}, "UnsupportedFeatureException"},
		{"lifecycle hooks", ecstypes.DeploymentConfiguration{LifecycleHooks: []ecstypes.DeploymentLifecycleHook{{}}}, "UnsupportedFeatureException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deploymentConfiguration(nil, &tc.in)
			apiErr, ok := awsError(err).(*awsapi.Error)
			if !ok || apiErr.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func TestCheckPlacement(t *testing.T) {
	c := func(kind, expr string) ecstypes.PlacementConstraint {
		return ecstypes.PlacementConstraint{Type: awsapi.String(kind), Expression: awsapi.String(expr)}
	}
	s := func(kind, field string) ecstypes.PlacementStrategy {
		return ecstypes.PlacementStrategy{Type: awsapi.String(kind), Field: awsapi.String(field)}
	}
	for _, tc := range []struct {
		name        string
		constraints []ecstypes.PlacementConstraint
		strategies  []ecstypes.PlacementStrategy
		ok          bool
	}{
		{"none", nil, nil, true},
		{"article", []ecstypes.PlacementConstraint{c("memberOf", "attribute:ecs.instance-type =~ t2.*")}, []ecstypes.PlacementStrategy{s("spread", "attribute:ecs.availability-zone"), s("binpack", "memory")}, true},
		{"distinct", []ecstypes.PlacementConstraint{c("distinctInstance", "")}, []ecstypes.PlacementStrategy{s("random", "")}, true},
		{"bad query", []ecstypes.PlacementConstraint{c("memberOf", "attribute:ecs.instance-type =~")}, nil, false},
		{"bad constraint type", []ecstypes.PlacementConstraint{c("sameInstance", "")}, nil, false},
		{"binpack on disk", nil, []ecstypes.PlacementStrategy{s("binpack", "disk")}, false},
		{"spread on nothing", nil, []ecstypes.PlacementStrategy{s("spread", "attribute:")}, false},
		{"random with field", nil, []ecstypes.PlacementStrategy{s("random", "cpu")}, false},
		{"six strategies", nil, []ecstypes.PlacementStrategy{s("random", ""), s("random", ""), s("random", ""), s("random", ""), s("random", ""), s("random", "")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPlacement(tc.constraints, tc.strategies)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
		})
	}
}
