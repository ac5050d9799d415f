package agent

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/runtime"
)

const testTaskID = "0123456789abcdef0123456789abcdef"

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type cdOpt func(*ecstypes.ContainerDefinition)

func cdef(name string, opts ...cdOpt) ecstypes.ContainerDefinition {
	cd := ecstypes.ContainerDefinition{Name: awsapi.String(name), Image: awsapi.String("img-" + name)}
	for _, o := range opts {
		o(&cd)
	}
	return cd
}

func essential(b bool) cdOpt {
	return func(cd *ecstypes.ContainerDefinition) { cd.Essential = awsapi.Bool(b) }
}

func dependsOn(name, cond string) cdOpt {
	return func(cd *ecstypes.ContainerDefinition) {
		cd.DependsOn = append(cd.DependsOn, ecstypes.ContainerDependency{ContainerName: awsapi.String(name), Condition: awsapi.String(cond)})
	}
}

func withHealthCheck() cdOpt {
	return func(cd *ecstypes.ContainerDefinition) {
		cd.HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "true"}}
	}
}

func startTimeout(s int32) cdOpt {
	return func(cd *ecstypes.ContainerDefinition) { cd.StartTimeout = awsapi.Int32(s) }
}

func stopTimeout(s int32) cdOpt {
	return func(cd *ecstypes.ContainerDefinition) { cd.StopTimeout = awsapi.Int32(s) }
}

// awslogs gives a container the awslogs driver, to group "g" in
// us-east-1 with prefix "web" and extra options.
func awslogs(extra ...string) cdOpt {
	return func(cd *ecstypes.ContainerDefinition) {
		opts := map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}
		for i := 0; i+1 < len(extra); i += 2 {
			opts[extra[i]] = extra[i+1]
		}
		cd.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: awsapi.String("awslogs"), Options: opts}
	}
}

func logDriver(d string) cdOpt {
	return func(cd *ecstypes.ContainerDefinition) {
		cd.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: awsapi.String(d)}
	}
}

// desiredTask is a task of the given network mode ("" = Fargate awsvpc).
func desiredTask(mode string, cds ...ecstypes.ContainerDefinition) agentproto.DesiredTask {
	def := ecstypes.TaskDefinition{Family: awsapi.String("web"), Revision: awsapi.Int32(3), ContainerDefinitions: cds}
	spec := agentproto.TaskSpec{Definition: def, Cpu: "512", Memory: "1024", AvailabilityZone: "us-east-1a",
		Network: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1", "subnet-2"}}}
	if mode == "" {
		spec.LaunchType = "FARGATE"
	} else {
		spec.LaunchType = "EC2"
		def.NetworkMode = awsapi.String(mode)
		spec.Definition = def
	}
	dt := agentproto.DesiredTask{
		Cluster: "default", ID: testTaskID, Generation: 1, DesiredStatus: agentproto.StatusRunning,
		ARN:        "arn:aws:ecs:us-east-1:123456789012:task/default/" + testTaskID,
		ClusterARN: "arn:aws:ecs:us-east-1:123456789012:cluster/default",
		Spec:       spec,
		Interface:  testInterface(),
	}
	for i, cd := range cds {
		id := fmt.Sprintf("aaaaaaaa-0000-0000-0000-%012d", i)
		dt.Spec.Containers = append(dt.Spec.Containers, agentproto.ContainerSpec{Name: *cd.Name, ID: id})
		dt.ContainerARNs = append(dt.ContainerARNs, "arn:aws:ecs:us-east-1:123456789012:container/default/"+testTaskID+"/"+id)
		dt.Images = append(dt.Images, agentproto.Image{Ref: "registry.local/" + *cd.Image})
	}
	return dt
}

// testInterface is the network interface the server makes for the tasks
// of desiredTask.
func testInterface() *agentproto.TaskInterface {
	return &agentproto.TaskInterface{
		ID: "eni-0123456789abcdef0", AttachmentID: "01234567-89ab-cdef-0123-456789abcdef",
		VPCID: "vpc-0123456789abcdef0", VPCCIDR: "169.254.172.0/22", SubnetID: "subnet-1", SubnetCIDR: "169.254.172.0/22",
		Address: "169.254.172.5", MAC: "02:42:a9:fe:ac:05", PrivateDNSName: "ip-169-254-172-5.ec2.internal",
		Groups: []string{"sg-0123456789abcdef0"},
	}
}

func testEnv() planEnv {
	return planEnv{NodeID: "node1", MetadataBase: "http://169.254.170.2", Region: "us-east-1", VolumeRoot: "/var/lib/berth/volumes", CredentialsKey: "agent-token"}
}

func planOf(dt agentproto.DesiredTask) *taskPlan { return newTaskPlan(dt, testEnv()) }

// Observed container states.
func cRunning(id string) *runtime.Container {
	return &runtime.Container{ID: id, Running: true, Created: t0, StartedAt: t0}
}

func cStartedAt(id string, at time.Time) *runtime.Container {
	return &runtime.Container{ID: id, Running: true, Created: at, StartedAt: at}
}

func cHealth(c *runtime.Container, h string) *runtime.Container { c.Health = h; return c }

func cExited(id string, code int) *runtime.Container {
	return &runtime.Container{ID: id, Exited: true, ExitCode: code, Created: t0, StartedAt: t0, FinishedAt: t0.Add(time.Minute)}
}

func cCreated(id string) *runtime.Container { return &runtime.Container{ID: id, Created: t0} }

func cHolder() *runtime.Container {
	return &runtime.Container{ID: "holder", Running: true, Created: t0, StartedAt: t0}
}

func obsOf(holder *runtime.Container, cs ...*runtime.Container) observation {
	return observation{Holder: holder, Containers: cs}
}

// ready are the facts of a task whose images are pulled and resources set.
func ready(n int) facts {
	f := facts{PullStartedAt: t0, PullStoppedAt: t0, ResourcesSet: true}
	for range n {
		f.Pulled = append(f.Pulled, true)
	}
	return f
}

func actionStrings(as []action) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

type decideCase struct {
	name    string
	dt      agentproto.DesiredTask
	desired string // default RUNNING
	forget  bool
	obs     observation
	facts   facts
	now     time.Time // default t0 + 1m

	wantStatus  string
	wantActions []string
	wantCode    string
	wantReason  string // substring of the stoppedReason
	wantWake    time.Time
	wantDone    bool
	check       func(t *testing.T, d decision)
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decideCaseRun(tc)
			if d.Status.LastStatus != tc.wantStatus {
				t.Errorf("status = %s, want %s", d.Status.LastStatus, tc.wantStatus)
			}
			if got := actionStrings(d.Actions); !slices.Equal(got, tc.wantActions) {
				t.Errorf("actions = %v, want %v", got, tc.wantActions)
			}
			if d.Status.StopCode != tc.wantCode {
				t.Errorf("stopCode = %q, want %q", d.Status.StopCode, tc.wantCode)
			}
			if tc.wantReason == "" && d.Status.StoppedReason != "" || !strings.Contains(d.Status.StoppedReason, tc.wantReason) {
				t.Errorf("stoppedReason = %q, want it to contain %q", d.Status.StoppedReason, tc.wantReason)
			}
			if !d.WakeAt.Equal(tc.wantWake) {
				t.Errorf("wake = %v, want %v", d.WakeAt, tc.wantWake)
			}
			if d.Done != tc.wantDone {
				t.Errorf("done = %t, want %t", d.Done, tc.wantDone)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func decideCaseRun(tc decideCase) decision {
	desired := tc.desired
	if desired == "" {
		desired = agentproto.StatusRunning
	}
	now := tc.now
	if now.IsZero() {
		now = t0.Add(time.Minute)
	}
	p := planOf(tc.dt)
	obs := tc.obs
	if obs.Containers == nil {
		obs.Containers = make([]*runtime.Container, len(p.Containers))
	}
	return decide(decideInput{Plan: p, Desired: desiredState{Status: desired, Generation: tc.dt.Generation, Forget: tc.forget, DrainUntil: tc.dt.DrainUntil},
		Obs: obs, Facts: tc.facts, Now: now})
}

func TestDecideStartSequence(t *testing.T) {
	two := desiredTask("", cdef("app"), cdef("side", essential(false)))
	runDecideCases(t, []decideCase{
		{name: "fresh task is PENDING and marks the pull start", dt: two,
			wantStatus: "PENDING", wantActions: []string{"markPullStarted"}},
		{name: "pulls every image while making the network holder", dt: two, facts: facts{PullStartedAt: t0},
			wantStatus: "ACTIVATING", wantActions: []string{"setResources", "createHolder", "pull(0)", "pull(1)"}},
		{name: "only pulls once the holder exists", dt: two, facts: facts{PullStartedAt: t0, ResourcesSet: true},
			obs: obsOf(cHolder(), nil, nil), wantStatus: "ACTIVATING", wantActions: []string{"pull(0)", "pull(1)"}},
		{name: "task resources when the images are there", dt: two, facts: facts{PullStartedAt: t0, Pulled: []bool{true, true}},
			wantStatus: "ACTIVATING", wantActions: []string{"setResources"}},
		{name: "network holder next", dt: two, facts: ready(2),
			wantStatus: "ACTIVATING", wantActions: []string{"createHolder"}},
		{name: "containers without dependencies are created and started together", dt: two, facts: ready(2),
			obs: obsOf(cHolder(), nil, nil), wantStatus: "ACTIVATING", wantActions: []string{"create(0,start=true)", "create(1,start=true)"}},
		{name: "a created container is started, not created again", dt: two, facts: ready(2),
			obs: obsOf(cHolder(), cCreated("a"), nil), wantStatus: "ACTIVATING", wantActions: []string{"start(0)", "create(1,start=true)"}},
		{name: "every container started is RUNNING", dt: two, facts: ready(2),
			obs: obsOf(cHolder(), cRunning("a"), cRunning("s")), wantStatus: "RUNNING",
			check: func(t *testing.T, d decision) {
				if !d.Status.StartedAt.Equal(t0) {
					t.Errorf("startedAt = %v", d.Status.StartedAt)
				}
				if d.Status.Connectivity != "" {
					t.Errorf("connectivity comes from learned facts, got %q", d.Status.Connectivity)
				}
				for _, c := range d.Status.Containers {
					if c.LastStatus != "RUNNING" || c.RuntimeID == "" {
						t.Errorf("container %+v", c)
					}
				}
			}},
		{name: "bridge mode has no holder", dt: desiredTask("bridge", cdef("app")), facts: ready(1),
			wantStatus: "ACTIVATING", wantActions: []string{"create(0,start=true)"}},
		{name: "a non-essential container that exits keeps the task running", dt: two, facts: ready(2),
			obs: obsOf(cHolder(), cRunning("a"), cExited("s", 1)), wantStatus: "RUNNING",
			check: func(t *testing.T, d decision) {
				if c := d.Status.Containers[1]; c.LastStatus != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 1 {
					t.Errorf("side = %+v", c)
				}
			}},
	})
}

func TestDecideFailures(t *testing.T) {
	two := desiredTask("", cdef("app"), cdef("side", essential(false)))
	containerReason := func(i int, want string) func(t *testing.T, d decision) {
		return func(t *testing.T, d decision) {
			if got := d.Status.Containers[i].Reason; !strings.Contains(got, want) {
				t.Errorf("container %d reason = %q, want %q", i, got, want)
			}
			if d.Stop == nil {
				t.Error("no stop decision")
			}
		}
	}
	runDecideCases(t, []decideCase{
		{name: "essential container exit stops the task", dt: two, facts: ready(2),
			obs:        obsOf(cHolder(), cExited("a", 0), cRunning("s")),
			wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "EssentialContainerExited", wantReason: "Essential container in task exited",
			check: func(t *testing.T, d decision) {
				if c := d.Status.Containers[0]; c.ExitCode == nil || *c.ExitCode != 0 || c.Reason != "" {
					t.Errorf("app = %+v", c)
				}
			}},
		{name: "an out-of-memory kill names itself", dt: two, facts: ready(2),
			obs:        obsOf(cHolder(), func() *runtime.Container { c := cExited("a", 137); c.OOMKilled = true; return c }(), cRunning("s")),
			wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "EssentialContainerExited", wantReason: "OutOfMemoryError: Container killed due to memory usage",
			check: func(t *testing.T, d decision) {
				c := d.Status.Containers[0]
				if c.Reason != oomReason || c.ExitCode == nil || *c.ExitCode != 137 {
					t.Errorf("app = %+v", c)
				}
			}},
		{name: "an oom event counts like the inspect flag", dt: two,
			facts: func() facts { f := ready(2); f.OOM = map[string]bool{"a": true}; return f }(),
			obs:   obsOf(cHolder(), cExited("a", 137), cRunning("s")), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "EssentialContainerExited", wantReason: "OutOfMemoryError", check: containerReason(0, oomReason)},
		{name: "pull failure", dt: two,
			facts:      facts{PullStartedAt: t0, Failure: &failure{Kind: failPull, Container: "side", Message: "manifest unknown"}},
			wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "CannotPullContainerError: manifest unknown",
			check: containerReason(1, "CannotPullContainerError: manifest unknown")},
		{name: "create failure", dt: two, facts: func() facts {
			f := ready(2)
			f.Failure = &failure{Kind: failCreate, Container: "app", Message: "no space"}
			return f
		}(), obs: obsOf(cHolder(), nil, nil), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "CannotCreateContainerError: no space", check: containerReason(0, "CannotCreateContainerError")},
		{name: "start failure seen in the runtime", dt: two, facts: ready(2),
			obs:        obsOf(cHolder(), &runtime.Container{ID: "a", Created: t0, Error: "exec: \"x\": not found", ExitCode: 127}, nil),
			wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: `CannotStartContainerError: exec: "x": not found`,
			check: containerReason(0, "CannotStartContainerError")},
		{name: "holder failure", dt: two, facts: func() facts {
			f := ready(2)
			f.Failure = &failure{Kind: failHolder, Message: "no IP"}
			return f
		}(), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "ResourceInitializationError: failed to configure the task network: no IP"},
		{name: "runtime failure", dt: two, facts: func() facts {
			f := ready(2)
			f.Failure = &failure{Kind: failRuntime, Message: "cannot connect to the Docker daemon"}
			return f
		}(), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "ResourceInitializationError: cannot connect to the Docker daemon"},
		{name: "awslogs options Docker refuses stop the task before anything is pulled",
			dt:         desiredTask("", cdef("app", awslogs("awslogs-datetime-format", "%Y", "awslogs-multiline-pattern", "^x"))),
			wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"}, wantCode: "TaskFailedToStart",
			wantReason: "ResourceInitializationError: failed to validate logger args: you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time"},
		{name: "containers whose holder is gone cannot run", dt: two, facts: ready(2),
			obs: obsOf(nil, cRunning("a"), cRunning("s")), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "EssentialContainerExited", wantReason: "network holder container exited"},
		{name: "a holder created but never started is made again", dt: two, facts: ready(2),
			obs: func() observation {
				h := cHolder()
				h.Running, h.StartedAt, h.IPAddress = false, time.Time{}, ""
				return obsOf(h, nil, nil)
			}(), wantStatus: "ACTIVATING", wantActions: []string{"removeHolder"}},
		{name: "a dead holder fails a starting task", dt: two, facts: ready(2),
			obs: func() observation {
				h := cHolder()
				h.Running, h.Exited = false, true
				return obsOf(h, cRunning("a"), nil)
			}(), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "failed to configure the task network"},
	})
}

func TestDecideDependsOn(t *testing.T) {
	initApp := func(cond string, initOpts ...cdOpt) agentproto.DesiredTask {
		return desiredTask("", cdef("init", append([]cdOpt{essential(false)}, initOpts...)...), cdef("app", dependsOn("init", cond)))
	}
	runDecideCases(t, []decideCase{
		{name: "the dependency is created first", dt: initApp("COMPLETE"), facts: ready(2),
			obs: obsOf(cHolder(), nil, nil), wantStatus: "ACTIVATING", wantActions: []string{"create(0,start=true)"}},
		{name: "COMPLETE waits while the dependency runs", dt: initApp("COMPLETE"), facts: ready(2),
			obs: obsOf(cHolder(), cRunning("i"), nil), wantStatus: "ACTIVATING"},
		{name: "COMPLETE is met by any exit", dt: initApp("COMPLETE"), facts: ready(2),
			obs: obsOf(cHolder(), cExited("i", 3), nil), wantStatus: "ACTIVATING", wantActions: []string{"create(1,start=true)"}},
		{name: "SUCCESS is met by exit 0", dt: initApp("SUCCESS"), facts: ready(2),
			obs: obsOf(cHolder(), cExited("i", 0), nil), wantStatus: "ACTIVATING", wantActions: []string{"create(1,start=true)"}},
		{name: "SUCCESS fails on another exit code", dt: initApp("SUCCESS"), facts: ready(2),
			obs: obsOf(cHolder(), cExited("i", 2), nil), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "Dependency of container app not met: container init exited with code 2 (condition SUCCESS)"},
		{name: "START is met once the dependency runs", dt: initApp("START"), facts: ready(2),
			obs: obsOf(cHolder(), cRunning("i"), nil), wantStatus: "ACTIVATING", wantActions: []string{"create(1,start=true)"}},
		{name: "START waits for a created dependency", dt: initApp("START"), facts: ready(2),
			obs: obsOf(cHolder(), cCreated("i"), nil), wantStatus: "ACTIVATING", wantActions: []string{"start(0)"}},
		{name: "HEALTHY waits while starting", dt: initApp("HEALTHY", withHealthCheck()), facts: ready(2),
			obs: obsOf(cHolder(), cHealth(cRunning("i"), "starting"), nil), wantStatus: "ACTIVATING"},
		{name: "HEALTHY is met when healthy", dt: initApp("HEALTHY", withHealthCheck()), facts: ready(2),
			obs: obsOf(cHolder(), cHealth(cRunning("i"), "healthy"), nil), wantStatus: "ACTIVATING", wantActions: []string{"create(1,start=true)"}},
		{name: "HEALTHY fails when the dependency exits", dt: initApp("HEALTHY", withHealthCheck()), facts: ready(2),
			obs: obsOf(cHolder(), cExited("i", 0), nil), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "container init exited before it was healthy"},
		{name: "HEALTHY on a container without a check can never be met", dt: initApp("HEALTHY"), facts: ready(2),
			obs: obsOf(cHolder(), cRunning("i"), nil), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "has no health check"},
		{name: "the dependency's startTimeout sets a wake-up", dt: initApp("HEALTHY", withHealthCheck(), startTimeout(10)), facts: ready(2),
			obs: obsOf(cHolder(), cHealth(cStartedAt("i", t0), "starting"), nil), now: t0.Add(5 * time.Second),
			wantStatus: "ACTIVATING", wantWake: t0.Add(10 * time.Second)},
		{name: "the dependency's startTimeout expires", dt: initApp("COMPLETE", startTimeout(10)), facts: ready(2),
			obs: obsOf(cHolder(), cStartedAt("i", t0), nil), now: t0.Add(10 * time.Second),
			wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"}, wantCode: "TaskFailedToStart",
			wantReason: "Dependency of container app not met: container init did not reach COMPLETE within its startTimeout of 10s"},
		{name: "a container that exited on purpose does not hold the task", dt: initApp("COMPLETE"), facts: ready(2),
			obs: obsOf(cHolder(), cExited("i", 0), cRunning("a")), wantStatus: "RUNNING"},
		{name: "a started dependent no longer cares about its dependency", dt: initApp("HEALTHY", withHealthCheck(), startTimeout(1)),
			facts: ready(2), obs: obsOf(cHolder(), cHealth(cRunning("i"), "unhealthy"), cRunning("a")), now: t0.Add(time.Hour),
			wantStatus: "RUNNING"},
		{name: "a dependency cycle is refused", dt: desiredTask("", cdef("a", dependsOn("b", "START")), cdef("b", dependsOn("a", "START"))),
			wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"}, wantCode: "TaskFailedToStart", wantReason: "cycle (a -> b -> a)"},
	})
}

func TestDecideStopPath(t *testing.T) {
	// side depends on app: side stops first.
	dt := desiredTask("", cdef("app", stopTimeout(45)), cdef("side", dependsOn("app", "START")))
	stopping := func() facts { f := ready(2); f.DeactivatingAt = t0; return f }
	draining := dt
	draining.DrainUntil = t0.Add(5 * time.Minute)
	runDecideCases(t, []decideCase{
		{name: "a stop request deactivates first", dt: dt, desired: "STOPPED", facts: ready(2),
			obs: obsOf(cHolder(), cRunning("a"), cRunning("s")), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"}},
		{name: "dependents stop before what they depend on", dt: dt, desired: "STOPPED", facts: stopping(),
			obs: obsOf(cHolder(), cRunning("a"), cRunning("s")), wantStatus: "STOPPING", wantActions: []string{"stop(1,30s)"}},
		{name: "a task its load balancers drain keeps running until the drain is over", dt: draining, desired: "STOPPED", facts: stopping(),
			obs: obsOf(cHolder(), cRunning("a"), cRunning("s")), wantStatus: "DEACTIVATING", wantWake: t0.Add(5 * time.Minute)},
		{name: "then it stops", dt: draining, desired: "STOPPED", facts: stopping(), now: t0.Add(5 * time.Minute),
			obs: obsOf(cHolder(), cRunning("a"), cRunning("s")), wantStatus: "STOPPING", wantActions: []string{"stop(1,30s)"}},
		{name: "then the dependency, with its stopTimeout", dt: dt, desired: "STOPPED", facts: stopping(),
			obs: obsOf(cHolder(), cRunning("a"), cExited("s", 143)), wantStatus: "STOPPING", wantActions: []string{"stop(0,45s)"}},
		{name: "then the holder and the task resources", dt: dt, desired: "STOPPED", facts: stopping(),
			obs: obsOf(cHolder(), cExited("a", 143), cExited("s", 143)), wantStatus: "DEPROVISIONING", wantActions: []string{"removeHolder", "release"},
			check: func(t *testing.T, d decision) {
				if !d.Status.ExecutionStoppedAt.Equal(t0.Add(time.Minute)) {
					t.Errorf("executionStoppedAt = %v", d.Status.ExecutionStoppedAt)
				}
			}},
		{name: "then STOPPED is recorded", dt: dt, desired: "STOPPED",
			facts: func() facts { f := stopping(); f.Released = true; return f }(),
			obs:   obsOf(nil, cExited("a", 143), cExited("s", 143)), wantStatus: "STOPPED", wantActions: []string{"markStopped"},
			check: func(t *testing.T, d decision) {
				if !d.Status.StoppedAt.Equal(t0.Add(time.Minute)) {
					t.Errorf("stoppedAt = %v", d.Status.StoppedAt)
				}
			}},
		{name: "STOPPED stays, quietly; the server's stop code is not repeated", dt: dt, desired: "STOPPED",
			facts: func() facts { f := stopping(); f.Released, f.StoppedAt = true, t0; return f }(),
			obs:   obsOf(nil, cExited("a", 143), cExited("s", 143)), wantStatus: "STOPPED",
			check: func(t *testing.T, d decision) {
				if !d.Status.StoppedAt.Equal(t0) || d.Status.StopCode != "" {
					t.Errorf("status = %+v", d.Status)
				}
			}},
		{name: "a container never started is STOPPED without exit code", dt: dt, desired: "STOPPED",
			facts: func() facts { f := stopping(); f.Released = true; return f }(),
			obs:   obsOf(nil, cExited("a", 1), nil), wantStatus: "STOPPED", wantActions: []string{"markStopped"},
			check: func(t *testing.T, d decision) {
				if c := d.Status.Containers[1]; c.LastStatus != "STOPPED" || c.ExitCode != nil || c.RuntimeID != "" {
					t.Errorf("side = %+v", c)
				}
			}},
		{name: "a stop before anything started goes straight to deprovisioning", dt: dt, desired: "STOPPED",
			facts: facts{DeactivatingAt: t0}, wantStatus: "DEPROVISIONING", wantActions: []string{"release"}},
		{name: "forget removes everything once stopped", dt: dt, desired: "STOPPED", forget: true,
			facts: func() facts { f := stopping(); f.Released, f.StoppedAt = true, t0; return f }(),
			obs:   obsOf(nil, cExited("a", 143), cExited("s", 143)), wantStatus: "STOPPED", wantActions: []string{"removeAll"}},
		{name: "forget is done when nothing is left", dt: dt, desired: "STOPPED", forget: true,
			facts:      func() facts { f := stopping(); f.Released, f.StoppedAt = true, t0; return f }(),
			wantStatus: "STOPPED", wantDone: true},
		{name: "forget of a running task stops it first", dt: dt, forget: true, facts: ready(2),
			obs: obsOf(cHolder(), cRunning("a"), cRunning("s")), wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"}},
		{name: "a container started again after STOPPED is stopped quietly", dt: dt, desired: "STOPPED",
			facts: func() facts { f := stopping(); f.Released, f.StoppedAt = true, t0; return f }(),
			obs:   obsOf(nil, cExited("a", 143), cRunning("s")), wantStatus: "STOPPED", wantActions: []string{"stop(1,30s)"}},
		{name: "an agent stop keeps its code through the stop path", dt: dt,
			facts: func() facts {
				f := stopping()
				f.Stop = &stopDecision{Code: "EssentialContainerExited", Reason: "Essential container in task exited", At: t0, Container: "app"}
				return f
			}(),
			obs:        obsOf(cHolder(), cExited("a", 1), cRunning("s")),
			wantStatus: "STOPPING", wantActions: []string{"stop(1,30s)"}, wantCode: "EssentialContainerExited", wantReason: "Essential container in task exited"},
	})
}

func TestDecideStopTimeouts(t *testing.T) {
	for _, tc := range []struct {
		mode string
		opt  []cdOpt
		want string
	}{
		{"", nil, "stop(0,30s)"},
		{"", []cdOpt{stopTimeout(200)}, "stop(0,2m0s)"}, // Fargate's maximum
		{"bridge", []cdOpt{stopTimeout(200)}, "stop(0,3m20s)"},
		{"bridge", []cdOpt{stopTimeout(5)}, "stop(0,5s)"},
	} {
		dt := desiredTask(tc.mode, cdef("app", tc.opt...))
		f := ready(1)
		f.DeactivatingAt = t0
		d := decideCaseRun(decideCase{dt: dt, desired: "STOPPED", facts: f, obs: obsOf(cHolder(), cRunning("a"))})
		if got := actionStrings(d.Actions); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("mode %q %v: actions %v, want %s", tc.mode, tc.opt, got, tc.want)
		}
	}
}

func TestDecideHealth(t *testing.T) {
	dt := desiredTask("", cdef("a", withHealthCheck()), cdef("b", withHealthCheck()), cdef("c", essential(false), withHealthCheck()), cdef("d", essential(false)))
	for _, tc := range []struct {
		a, b, c string
		want    string
	}{
		{"healthy", "healthy", "unhealthy", "HEALTHY"}, // non-essential ones do not count
		{"healthy", "starting", "healthy", "UNKNOWN"},
		{"unhealthy", "starting", "healthy", "UNHEALTHY"},
		{"healthy", "unhealthy", "healthy", "UNHEALTHY"},
		{"starting", "starting", "starting", "UNKNOWN"},
	} {
		obs := obsOf(cHolder(), cHealth(cRunning("a"), tc.a), cHealth(cRunning("b"), tc.b), cHealth(cRunning("c"), tc.c), cHealth(cRunning("d"), "healthy"))
		d := decideCaseRun(decideCase{dt: dt, facts: ready(4), obs: obs})
		if d.Status.HealthStatus != tc.want {
			t.Errorf("%s/%s/%s: task health %s, want %s", tc.a, tc.b, tc.c, d.Status.HealthStatus, tc.want)
		}
		if d.Status.LastStatus != "RUNNING" {
			t.Errorf("an unhealthy standalone task keeps running: %s", d.Status.LastStatus)
		}
		// A container without a check reports UNKNOWN whatever the runtime says.
		if got := d.Status.Containers[3].HealthStatus; got != "UNKNOWN" {
			t.Errorf("container without check: %s", got)
		}
	}
	// A stopped container's leftover health does not count.
	f := ready(4)
	f.DeactivatingAt, f.Released = t0, true
	d := decideCaseRun(decideCase{dt: dt, desired: "STOPPED", facts: f,
		obs: obsOf(nil, cHealth(cExited("a", 0), "unhealthy"), cHealth(cExited("b", 0), "healthy"), nil, nil)})
	if d.Status.HealthStatus != "UNKNOWN" || d.Status.Containers[0].HealthStatus != "UNKNOWN" {
		t.Errorf("stopped task health %s, container %s", d.Status.HealthStatus, d.Status.Containers[0].HealthStatus)
	}
	for _, tc := range [][3]string{
		{"HEALTHY", "HEALTHY", "HEALTHY"}, {"HEALTHY", "UNKNOWN", "UNKNOWN"}, {"UNKNOWN", "UNHEALTHY", "UNHEALTHY"},
		{"UNHEALTHY", "HEALTHY", "UNHEALTHY"}, {"UNHEALTHY", "UNKNOWN", "UNHEALTHY"},
	} {
		if got := worseHealth(tc[0], tc[1]); got != tc[2] {
			t.Errorf("worseHealth(%s, %s) = %s, want %s", tc[0], tc[1], got, tc[2])
		}
	}
}

// simulate runs decide against a simulated runtime until nothing is left
// to do, counting how often each container is created.
func simulate(t *testing.T, p *taskPlan, desired desiredState, obs observation, f facts) (decision, []int) {
	t.Helper()
	creates := make([]int, len(p.Containers))
	now := t0.Add(time.Hour)
	var d decision
	for step := 0; step < 60; step++ {
		f = learn(p, f, obs)
		d = decide(decideInput{Plan: p, Desired: desired, Obs: obs, Facts: f, Now: now})
		if d.Stop != nil {
			f.Stop = d.Stop
		}
		if len(d.Actions) == 0 || d.Done {
			return d, creates
		}
		for _, a := range d.Actions {
			switch a.Kind {
			case actMarkPullStarted:
				f.PullStartedAt = a.At
			case actPull:
				for len(f.Pulled) <= a.Index {
					f.Pulled = append(f.Pulled, false)
				}
				f.Pulled[a.Index] = true
			case actSetResources:
				f.ResourcesSet = true
			case actCreateHolder:
				obs.Holder = cHolder()
			case actCreate:
				creates[a.Index]++
				c := cCreated(fmt.Sprintf("new%d", a.Index))
				if a.Start {
					c.Running, c.StartedAt = true, now
				}
				obs.Containers[a.Index] = c
			case actStart:
				c := *obs.Containers[a.Index]
				c.Running, c.StartedAt = true, now
				obs.Containers[a.Index] = &c
			case actMarkDeactivating:
				f.DeactivatingAt = a.At
			case actStop:
				c := *obs.Containers[a.Index]
				c.Running, c.Exited, c.ExitCode, c.FinishedAt = false, true, 143, now
				obs.Containers[a.Index] = &c
			case actRemoveHolder:
				obs.Holder = nil
			case actRelease:
				f.Released = true
			case actMarkStopped:
				f.StoppedAt = a.At
			case actRemoveAll:
				obs = observation{Containers: make([]*runtime.Container, len(p.Containers))}
			}
		}
	}
	t.Fatalf("no steady state after 60 steps; last decision %+v", d)
	return d, creates
}

// TestDecideAdoption: whatever an agent finds after a restart (each
// container missing, created, running or exited), deciding from it
// continues without ever creating a container that exists.
func TestDecideAdoption(t *testing.T) {
	states := []string{"missing", "created", "running", "exited"}
	mk := func(state, id string) *runtime.Container {
		switch state {
		case "created":
			return cCreated(id)
		case "running":
			return cRunning(id)
		case "exited":
			return cExited(id, 1)
		}
		return nil
	}
	for _, mode := range []string{"", "bridge"} {
		p := planOf(desiredTask(mode, cdef("app"), cdef("side")))
		for _, holderUp := range []bool{true, false} {
			if mode == "bridge" && !holderUp {
				continue
			}
			for _, s0 := range states {
				for _, s1 := range states {
					for _, desired := range []string{agentproto.StatusRunning, agentproto.StatusStopped} {
						name := fmt.Sprintf("mode=%q holder=%t %s/%s desired=%s", mode, holderUp, s0, s1, desired)
						t.Run(name, func(t *testing.T) {
							obs := obsOf(nil, mk(s0, "a"), mk(s1, "s"))
							if holderUp && mode == "" && (s0 != "missing" || s1 != "missing") {
								obs.Holder = cHolder()
							}
							// After a restart: persisted timestamps, nothing pulled in this life.
							f := facts{PullStartedAt: t0, PullStoppedAt: t0}
							d, creates := simulate(t, p, desiredState{Status: desired, Generation: 1}, obs, f)
							for i, n := range creates {
								initiallyMissing := []string{s0, s1}[i] == "missing"
								if n > 1 || (n == 1 && !initiallyMissing) {
									t.Errorf("container %d created %d times (initially %s)", i, n, []string{s0, s1}[i])
								}
								if desired == agentproto.StatusStopped && n > 0 {
									t.Errorf("a task that should stop got container %d created", i)
								}
							}
							anyExited := s0 == "exited" || s1 == "exited"
							holderLost := mode == "" && !holderUp && (s0 != "missing" || s1 != "missing")
							switch {
							case desired == agentproto.StatusStopped || anyExited || holderLost:
								if d.Status.LastStatus != agentproto.StatusStopped {
									t.Errorf("final status %s, want STOPPED", d.Status.LastStatus)
								}
								if anyExited && !holderLost && desired == agentproto.StatusRunning && d.Status.StopCode != "EssentialContainerExited" {
									t.Errorf("stopCode %q", d.Status.StopCode)
								}
							default:
								if d.Status.LastStatus != agentproto.StatusRunning {
									t.Errorf("final status %s, want RUNNING", d.Status.LastStatus)
								}
							}
						})
					}
				}
			}
		}
	}
}

func TestObserveTask(t *testing.T) {
	p := planOf(desiredTask("", cdef("app"), cdef("side")))
	lbl := func(role, id, name string) map[string]string {
		return map[string]string{LabelRole: role, LabelContainerID: id, LabelECSContainer: name}
	}
	list := []runtime.Container{
		{ID: "h", Labels: lbl(RoleHolder, "", holderContainerName), Running: true},
		{ID: "old", Labels: lbl(RoleContainer, p.Containers[0].ID, "app"), Exited: true, Created: t0},
		{ID: "new", Labels: lbl(RoleContainer, p.Containers[0].ID, "app"), Running: true, Created: t0.Add(-time.Hour)},
		{ID: "byname", Labels: map[string]string{LabelRole: RoleContainer, LabelECSContainer: "side"}},
		{ID: "stray", Labels: lbl(RoleContainer, "other-id", "x")},
	}
	o := observeTask(p, list)
	if o.Holder == nil || o.Holder.ID != "h" {
		t.Errorf("holder = %+v", o.Holder)
	}
	if o.Containers[0] == nil || o.Containers[0].ID != "new" {
		t.Errorf("app = %+v (the running copy wins)", o.Containers[0])
	}
	if o.Containers[1] == nil || o.Containers[1].ID != "byname" {
		t.Errorf("side = %+v", o.Containers[1])
	}
	var strays []string
	for _, s := range o.Strays {
		strays = append(strays, s.ID)
	}
	slices.Sort(strays)
	if !slices.Equal(strays, []string{"old", "stray"}) {
		t.Errorf("strays = %v", strays)
	}
}

func TestLearnNetwork(t *testing.T) {
	p := planOf(desiredTask("", cdef("app")))
	f := learn(p, facts{}, obsOf(cHolder(), nil))
	n := f.Network
	if n == nil {
		t.Fatal("no network learned")
	}
	want := agentproto.NetworkStatus{
		AttachmentID: "01234567-89ab-cdef-0123-456789abcdef", PrivateIPv4: "169.254.172.5", MACAddress: "02:42:a9:fe:ac:05",
		SubnetID: "subnet-1", SubnetCIDR: "169.254.172.0/22", GatewayIPv4: "169.254.172.1",
		PrivateDNSName: "ip-169-254-172-5.ec2.internal", NetworkInterfaceID: "eni-0123456789abcdef0",
	}
	if *n != want {
		t.Errorf("network = %+v\nwant %+v", *n, want)
	}
	if !f.ConnectivityAt.Equal(t0) {
		t.Errorf("connectivityAt = %v", f.ConnectivityAt)
	}
	// Kept once the holder is gone.
	f = learn(p, f, obsOf(nil, nil))
	if f.Network == nil || !f.ConnectivityAt.Equal(t0) {
		t.Errorf("network forgotten: %+v", f)
	}
}

func TestObserveFailureStop(t *testing.T) {
	run := desiredState{Status: agentproto.StatusRunning}
	err := fmt.Errorf("Cannot connect to the Docker daemon")
	if s := observeFailureStop(facts{ObserveFailures: 2}, run, "ACTIVATING", err, t0); s != nil {
		t.Errorf("stopped after 2 failures: %+v", s)
	}
	s := observeFailureStop(facts{ObserveFailures: 3}, run, "ACTIVATING", err, t0)
	if s == nil || s.Code != "TaskFailedToStart" || s.Reason != "ResourceInitializationError: Cannot connect to the Docker daemon" {
		t.Errorf("stop = %+v", s)
	}
	if s := observeFailureStop(facts{ObserveFailures: 10}, run, "RUNNING", err, t0); s != nil {
		t.Errorf("a running task was stopped for an unreachable runtime: %+v", s)
	}
}

// TestDecideLogsDrain: a task is reported STOPPED once the output of its
// shipped containers is stored, or 30 s after they exited; its containers
// are removed (with their log files) once the output is stored, or after
// 10 minutes of failing to ship it.
func TestDecideLogsDrain(t *testing.T) {
	dt := desiredTask("", cdef("app", awslogs()), cdef("side", essential(false)))
	released := func(mod func(f *facts)) facts {
		f := ready(2)
		f.DeactivatingAt, f.Released = t0, true
		if mod != nil {
			mod(&f)
		}
		return f
	}
	stopped := func(mod func(f *facts)) facts {
		return released(func(f *facts) {
			f.StoppedAt = t0.Add(time.Minute)
			if mod != nil {
				mod(f)
			}
		})
	}
	drained := func(f *facts) { f.LogsDrained = map[string]bool{"a": true} }
	failingSince := func(at time.Time) func(f *facts) {
		return func(f *facts) { f.LogsFailingSince = map[string]time.Time{"a": at} }
	}
	exited := obsOf(nil, cExited("a", 0), cExited("s", 0)) // both finished at t0+1m
	runDecideCases(t, []decideCase{
		{name: "STOPPED waits for the shipped output", dt: dt, desired: "STOPPED", facts: released(nil), obs: exited,
			wantStatus: "DEPROVISIONING", wantWake: t0.Add(time.Minute + drainReportWait)},
		{name: "STOPPED once it is stored", dt: dt, desired: "STOPPED", facts: released(drained), obs: exited,
			wantStatus: "STOPPED", wantActions: []string{"markStopped"}},
		{name: "STOPPED 30s after the exit even if it is not", dt: dt, desired: "STOPPED", facts: released(nil), obs: exited,
			now: t0.Add(time.Minute + drainReportWait), wantStatus: "STOPPED", wantActions: []string{"markStopped"}},
		{name: "a container that never ran has no output", dt: dt, desired: "STOPPED", facts: released(nil),
			obs: obsOf(nil, cCreated("a"), cExited("s", 0)), wantStatus: "STOPPED", wantActions: []string{"markStopped"}},
		{name: "containers without awslogs are not waited for", dt: desiredTask("", cdef("app"), cdef("side")), desired: "STOPPED",
			facts: released(nil), obs: exited, wantStatus: "STOPPED", wantActions: []string{"markStopped"}},
		{name: "an essential exit waits as well", dt: dt, facts: released(func(f *facts) {
			f.Stop = &stopDecision{Code: "EssentialContainerExited", Reason: "Essential container in task exited", At: t0, Container: "app"}
		}), obs: exited, wantStatus: "DEPROVISIONING", wantCode: "EssentialContainerExited", wantReason: "Essential container in task exited",
			wantWake: t0.Add(time.Minute + drainReportWait)},
		{name: "once STOPPED nothing waits", dt: dt, desired: "STOPPED", facts: stopped(nil), obs: exited, wantStatus: "STOPPED"},

		{name: "removal waits while the output is being shipped", dt: dt, desired: "STOPPED", forget: true, facts: stopped(nil), obs: exited,
			wantStatus: "STOPPED"},
		{name: "removal waits for failing shipping up to 10 minutes", dt: dt, desired: "STOPPED", forget: true,
			facts: stopped(failingSince(t0)), obs: exited, wantStatus: "STOPPED", wantWake: t0.Add(drainGiveUp)},
		{name: "removal after 10 minutes of failing", dt: dt, desired: "STOPPED", forget: true,
			facts: stopped(failingSince(t0)), obs: exited, now: t0.Add(drainGiveUp),
			wantStatus: "STOPPED", wantActions: []string{"removeAll"}},
		{name: "removal once the output is stored", dt: dt, desired: "STOPPED", forget: true, facts: stopped(drained), obs: exited,
			wantStatus: "STOPPED", wantActions: []string{"removeAll"}},
		{name: "a running task does not wait", dt: dt, facts: ready(2), obs: obsOf(cHolder(), cRunning("a"), cRunning("s")),
			wantStatus: "RUNNING"},
	})
}

// TestDecideInterfaceProblems checks that a task the server could make no
// interface for stops before anything is pulled, while a running task of
// an earlier agent (its holder on the network it had then) keeps running.
func TestDecideInterfaceProblems(t *testing.T) {
	noInterface := desiredTask("", cdef("app"))
	noInterface.Interface = nil
	noInterface.InterfaceError = "ResourceInitializationError: failed to create the task's network interface: the subnet has no free address"
	runDecideCases(t, []decideCase{
		{name: "stops before starting", dt: noInterface, wantStatus: "DEACTIVATING", wantActions: []string{"markDeactivating"},
			wantCode: "TaskFailedToStart", wantReason: "the subnet has no free address"},
		{name: "a running task keeps running", dt: noInterface, facts: ready(1),
			obs: obsOf(cHolder(), cRunning("a")), wantStatus: "RUNNING"},
	})
}
