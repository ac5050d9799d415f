package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"sync/atomic"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

// fakeLauncher writes tasks straight to the store, as the ECS launcher
// does after placement; refuse makes it place nothing.
type fakeLauncher struct {
	st     store.Store
	n      atomic.Int64
	refuse atomic.Bool
}

func (l *fakeLauncher) LaunchServiceTasks(ctx context.Context, svc *ecsstate.Service, dep *ecsstate.Deployment, count int, _ map[string]int) ([]ecsstate.Task, []scheduler.Failure, error) {
	if l.refuse.Load() {
		return nil, []scheduler.Failure{{NodeID: "n", Reason: scheduler.ReasonCPU}}, nil
	}
	var txn store.Txn
	var out []ecsstate.Task
	for range count {
		t := ecsstate.Task{
			ID: fmt.Sprintf("%032d", l.n.Add(1)), Region: svc.Region, Cluster: svc.Cluster, NodeID: "n", DesiredStatus: ecsstate.StatusRunning,
			CreatedAt: time.Now(), Generation: 1,
			Spec: ecsstate.TaskSpec{
				TaskDefinitionARN: dep.TaskDefinition, StartedBy: dep.ID, Group: ecsstate.ServiceGroup(svc.Name), ServiceName: svc.Name,
				Definition: ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{{
					Name: awsapi.String("app"), HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD", "true"}},
				}}},
			},
			Observed: ecsstate.TaskStatus{LastStatus: ecsstate.StatusProvisioning},
		}
		op, err := store.PutJSON(t.Key(), t)
		if err != nil {
			return nil, nil, err
		}
		txn.If = append(txn.If, store.Compare{Key: t.Key()})
		txn.Then = append(txn.Then, op)
		out = append(out, t)
	}
	if _, err := l.st.Txn(ctx, txn); err != nil {
		return nil, nil, err
	}
	return out, nil, nil
}

type fixture struct {
	st       *bolt.Store
	launcher *fakeLauncher
	cancel   context.CancelFunc
	done     chan struct{}
}

func startController(t *testing.T, st *bolt.Store) *fixture {
	t.Helper()
	f := &fixture{st: st, launcher: &fakeLauncher{st: st}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	c := New(Config{Store: st, Launcher: f.launcher, Resync: time.Second})
	go func() { defer close(f.done); c.Run(ctx) }()
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) stop() {
	f.cancel()
	<-f.done
}

func openStore(t *testing.T) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// agent plays every node's agent: tasks go RUNNING and HEALTHY, or STOPPED
// when asked, with health for some ids overridden by sick.
func agent(ctx context.Context, t *testing.T, st store.Store, sick func(ecsstate.Task) bool) {
	go func() {
		for ctx.Err() == nil {
			tasks, _, err := store.List[ecsstate.Task](ctx, st, ecsstate.TaskPrefix, store.ListOptions{})
			if err != nil {
				return
			}
			for _, v := range tasks {
				store.Update(ctx, st, v.Value.Key(), func(task *ecsstate.Task, found bool) error {
					o := &task.Observed
					switch {
					case !found || o.LastStatus == ecsstate.StatusStopped:
						return store.ErrUnchanged
					case task.DesiredStatus == ecsstate.StatusStopped:
						o.LastStatus, o.StoppedAt = ecsstate.StatusStopped, time.Now()
					case sick != nil && sick(*task):
						o.LastStatus, o.StoppedAt = ecsstate.StatusStopped, time.Now()
						task.DesiredStatus, task.StopCode = ecsstate.StatusStopped, ecstypes.TaskStopCodeEssentialContainerExited
					case o.LastStatus != ecsstate.StatusRunning:
						o.LastStatus, o.StartedAt, o.HealthStatus = ecsstate.StatusRunning, time.Now(), scheduler.HealthHealthy
					default:
						return store.ErrUnchanged
					}
					return nil
				})
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
}

func putService(t *testing.T, st store.Store, svc ecsstate.Service) {
	t.Helper()
	op, err := store.PutJSON(svc.Key(), svc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getService(t *testing.T, st store.Store) ecsstate.Service {
	t.Helper()
	v, err := store.Get[ecsstate.Service](context.Background(), st, ecsstate.ServiceKey(testRegion, "c", "web"))
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func liveTasks(t *testing.T, st store.Store) (byDeployment map[string]int, total int) {
	t.Helper()
	tasks, _, err := store.List[ecsstate.Task](context.Background(), st, ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byDeployment = map[string]int{}
	for _, v := range tasks {
		if v.Value.DesiredStatus == ecsstate.StatusRunning {
			byDeployment[v.Value.Spec.StartedBy]++
			total++
		}
	}
	return byDeployment, total
}

func TestControllerRollsOutAndSurvivesRestart(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent(ctx, t, st, nil)
	f := startController(t, st)
	putService(t, st, newService(3, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 3)))
	waitFor(t, "steady state", func() bool { return getService(t, st).Steady })
	if by, total := liveTasks(t, st); total != 3 || by[depA] != 3 {
		t.Fatalf("tasks %v", by)
	}

	// A new deployment; the controller is killed in the middle and a new
	// one finishes the job without duplicates.
	_, err := store.Update(ctx, st, ecsstate.ServiceKey(testRegion, "c", "web"), func(s *ecsstate.Service, _ bool) error {
		s.Deployments[0].Status = ecsstate.DeploymentActive
		s.Deployments = append([]ecsstate.Deployment{deployment(depB, tdBad, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 3)}, s.Deployments...)
		s.TaskDefinition, s.Steady = tdBad, false
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new deployment's first tasks", func() bool { by, _ := liveTasks(t, st); return by[depB] > 0 })
	f.stop()
	startController(t, st)
	waitFor(t, "the deployment to complete", func() bool {
		s := getService(t, st)
		return s.Steady && len(s.Deployments) == 1 && s.Primary().ID == depB
	})
	if by, total := liveTasks(t, st); total != 3 || by[depB] != 3 {
		t.Fatalf("tasks %v", by)
	}
}

func TestControllerUnplaceableEventAndBreakerRollback(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent(ctx, t, st, func(task ecsstate.Task) bool { return task.Spec.TaskDefinitionARN == tdBad })
	f := startController(t, st)
	f.launcher.refuse.Store(true)
	putService(t, st, newService(2, deployment(depA, tdGood, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 2)))
	waitFor(t, "the unable-to-place event", func() bool {
		for _, m := range messages(getService(t, st)) {
			if strings.HasPrefix(m, "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance n) has insufficient CPU units available.") {
				return true
			}
		}
		return false
	})
	f.launcher.refuse.Store(false)
	waitFor(t, "steady state", func() bool { return getService(t, st).Steady })

	_, err := store.Update(ctx, st, ecsstate.ServiceKey(testRegion, "c", "web"), func(s *ecsstate.Service, _ bool) error {
		s.DeploymentConfiguration.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: awsapi.Bool(true), Rollback: awsapi.Bool(true)}
		s.Deployments[0].Status = ecsstate.DeploymentActive
		s.Deployments = append([]ecsstate.Deployment{deployment(depB, tdBad, ecsstate.DeploymentPrimary, scheduler.RolloutInProgress, 2)}, s.Deployments...)
		s.TaskDefinition, s.Steady = tdBad, false
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rollback to complete", func() bool {
		s := getService(t, st)
		p := s.Primary()
		return s.Steady && p.RollbackOf == depB && p.TaskDefinition == tdGood && len(s.Deployments) == 1
	})
	s := getService(t, st)
	var failed ecsstate.Deployment
	for _, d := range s.History {
		if d.ID == depB {
			failed = d
		}
	}
	// Tasks that fail together are counted together: the count may pass
	// the threshold (3) by the tasks that ended in the same step.
	if failed.RolloutState != scheduler.RolloutFailed || failed.FailedTasks < 3 || failed.FailedTasks > 4 {
		t.Fatalf("failed deployment %+v", failed)
	}
}
