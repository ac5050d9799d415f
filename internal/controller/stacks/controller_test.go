package stacks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/cfnstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

// fakeAPI stands for berth's APIs: it records the calls and holds the
// log groups and clusters they make; fail makes a call fail.
type fakeAPI struct {
	mu       sync.Mutex
	calls    []string
	groups   map[string]bool
	clusters map[string]bool
	fail     map[string]*awsapi.Error // by operation
	callers  map[string]bool          // the caller ARNs calls came as
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{groups: map[string]bool{}, clusters: map[string]bool{}, fail: map[string]*awsapi.Error{}, callers: map[string]bool{}}
}

func (f *fakeAPI) Invoke(ctx context.Context, service, operation string, in map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, operation)
	f.callers[awsapi.RequestFrom(ctx).Caller.ARN] = true
	if err := f.fail[operation]; err != nil {
		return nil, err
	}
	switch operation {
	case "CreateLogGroup":
		f.groups[in["logGroupName"].(string)] = true
	case "DeleteLogGroup":
		if !f.groups[in["logGroupName"].(string)] {
			return nil, &awsapi.Error{Code: "ResourceNotFoundException"}
		}
		delete(f.groups, in["logGroupName"].(string))
	case "DescribeLogGroups":
		var groups []any
		for name := range f.groups {
			if strings.HasPrefix(name, in["logGroupNamePrefix"].(string)) {
				groups = append(groups, map[string]any{"logGroupName": name, "arn": "arn:" + name})
			}
		}
		return map[string]any{"logGroups": groups}, nil
	case "CreateCluster":
		name := in["clusterName"].(string)
		f.clusters[name] = true
		return map[string]any{"cluster": map[string]any{"clusterName": name, "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/" + name}}, nil
	case "DeleteCluster":
		delete(f.clusters, in["cluster"].(string))
	}
	return map[string]any{}, nil
}

func (f *fakeAPI) called(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

type env struct {
	t     *testing.T
	store store.Store
	api   *fakeAPI
	c     *Controller
}

func newEnv(t *testing.T) *env {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	api := newFakeAPI()
	return &env{t: t, store: st, api: api, c: New(Config{Store: st, API: api, AccountID: "123456789012"})}
}

const logsAndCluster = `
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /app
      RetentionInDays: 7
  Cluster:
    Type: AWS::ECS::Cluster
    Metadata:
      Owner: web
    Properties:
      ClusterName: !Sub '${AWS::StackName}-cluster'
      Tags:
        - Key: group
          Value: !Ref Logs
Outputs:
  ClusterArn:
    Value: !GetAtt Cluster.Arn
    Export:
      Name: app-cluster
`

// start records a stack whose creation is asked for, as CreateStack does.
func (e *env) start(body string, disableRollback bool) *cfnstate.Stack {
	now := time.Now().UTC()
	s := &cfnstate.Stack{Region: "us-east-1", UUID: "u1", Name: "app", ID: cfnstate.ARN("us-east-1", "123456789012", "app", "u1"),
		Created: now, Template: body, Resources: map[string]*cfnstate.Resource{}, DisableRollback: disableRollback,
		Operation: &cfnstate.Operation{Template: body, Started: now}}
	s.SetStatus(now, cfnstate.CreateInProgress, "User Initiated")
	ops, err := s.Ops()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.Txn(context.Background(), store.Txn{Then: ops}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// run reconciles the stack until its operation ends.
func (e *env) run() *cfnstate.Stack {
	e.t.Helper()
	key := cfnstate.StackKey("us-east-1", "u1")
	for range 50 {
		if _, err := e.c.Reconcile(context.Background(), key); err != nil {
			e.t.Fatal(err)
		}
		s := e.stack()
		if s.Operation == nil {
			return s
		}
	}
	e.t.Fatalf("the operation did not end: %+v", e.stack())
	return nil
}

func (e *env) stack() *cfnstate.Stack {
	v, err := store.Get[cfnstate.Stack](context.Background(), e.store, cfnstate.StackKey("us-east-1", "u1"))
	if err != nil {
		e.t.Fatal(err)
	}
	return &v.Value
}

// events lists the stack's events oldest first as "<logical id> <status>".
func (e *env) events() []string {
	list, _, err := store.List[cfnstate.Event](context.Background(), e.store, cfnstate.StackEventsPrefix("us-east-1", "u1"), store.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list {
		out = append(out, ev.Value.LogicalID+" "+ev.Value.Status)
	}
	return out
}

// eventReason is the reason of a resource's first event with status.
func (e *env) eventReason(logicalID, status string) string {
	list, _, err := store.List[cfnstate.Event](context.Background(), e.store, cfnstate.StackEventsPrefix("us-east-1", "u1"), store.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range list {
		if ev.Value.LogicalID == logicalID && ev.Value.Status == status {
			return ev.Value.Reason
		}
	}
	return ""
}

func TestCreateInDependencyOrderThenDelete(t *testing.T) {
	e := newEnv(t)
	e.start(logsAndCluster, false)
	s := e.run()
	if s.Status != cfnstate.CreateComplete {
		t.Fatalf("status %s (%s), events %v", s.Status, s.StatusReason, e.events())
	}
	// The cluster refers to the log group: it is created after it.
	evs := strings.Join(e.events(), ",")
	if strings.Index(evs, "Logs CREATE_COMPLETE") > strings.Index(evs, "Cluster CREATE_IN_PROGRESS") {
		t.Errorf("the cluster started before the log group was complete: %s", evs)
	}
	if got := s.Resources["Cluster"].PhysicalID; got != "app-cluster" || !e.api.clusters["app-cluster"] || !e.api.groups["/app"] {
		t.Errorf("cluster %q, made %v %v", got, e.api.clusters, e.api.groups)
	}
	if got := s.Resources["Cluster"].Metadata; got != `{"Owner":"web"}` {
		t.Errorf("metadata %q", got)
	}
	if len(s.Outputs) != 1 || s.Outputs[0].Value != "arn:aws:ecs:us-east-1:123456789012:cluster/app-cluster" {
		t.Errorf("outputs %+v", s.Outputs)
	}
	if exp, err := store.Get[cfnstate.Export](context.Background(), e.store, cfnstate.ExportKey("us-east-1", "app-cluster")); err != nil || exp.Value.StackID != s.ID {
		t.Errorf("export: %+v %v", exp, err)
	}

	// Deleting goes the other way round and removes the export.
	if _, err := cfnstate.UpdateStack(context.Background(), e.store, "us-east-1", "u1", func(s *cfnstate.Stack) ([]store.Op, error) {
		s.Operation = &cfnstate.Operation{}
		s.SetStatus(time.Now(), cfnstate.DeleteInProgress, "User Initiated")
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	s = e.run()
	if s.Status != cfnstate.DeleteComplete || len(e.api.clusters) != 0 || len(e.api.groups) != 0 {
		t.Fatalf("after delete: %s, left %v %v", s.Status, e.api.clusters, e.api.groups)
	}
	evs = strings.Join(e.events(), ",")
	if strings.Index(evs, "Logs DELETE_IN_PROGRESS") < strings.Index(evs, "Cluster DELETE_COMPLETE") {
		t.Errorf("the log group was deleted before the cluster that refers to it: %s", evs)
	}
	if _, err := store.Get[cfnstate.Export](context.Background(), e.store, cfnstate.ExportKey("us-east-1", "app-cluster")); err == nil {
		t.Error("the export outlived the stack")
	}
}

func TestFailedCreateRollsBack(t *testing.T) {
	for _, disableRollback := range []bool{false, true} {
		t.Run(fmt.Sprint("disableRollback=", disableRollback), func(t *testing.T) {
			e := newEnv(t)
			e.api.fail["CreateCluster"] = &awsapi.Error{Code: "InvalidParameterException", Message: "Cluster names are bad today"}
			e.start(logsAndCluster, disableRollback)
			s := e.run()
			reason := e.eventReason("Cluster", cfnstate.CreateFailed)
			if !strings.Contains(reason, `Resource handler returned message: "Cluster names are bad today"`) ||
				!strings.Contains(reason, "HandlerErrorCode: InvalidRequest") {
				t.Errorf("the cluster's reason: %s", reason)
			}
			if disableRollback {
				if s.Status != cfnstate.CreateFailed || !e.api.groups["/app"] {
					t.Fatalf("status %s, groups %v", s.Status, e.api.groups)
				}
				return
			}
			if s.Status != cfnstate.RollbackComplete || len(e.api.groups) != 0 {
				t.Fatalf("status %s, groups left %v, events %v", s.Status, e.api.groups, e.events())
			}
		})
	}
}

// A create under way when the server stopped has an unknown outcome: the
// resource fails and the stack rolls back, deleting what it knows of.
func TestInterruptedCreateRollsBack(t *testing.T) {
	e := newEnv(t)
	e.start(logsAndCluster, false)
	if _, err := cfnstate.UpdateStack(context.Background(), e.store, "us-east-1", "u1", func(s *cfnstate.Stack) ([]store.Op, error) {
		s.Resources["Logs"] = &cfnstate.Resource{LogicalID: "Logs", Type: "AWS::Logs::LogGroup", PhysicalID: "/app"}
		s.SetResourceStatus(time.Now(), "Logs", cfnstate.CreateInProgress, "")
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.api.groups["/app"] = true
	s := e.run()
	if s.Status != cfnstate.RollbackComplete || len(e.api.groups) != 0 || e.api.called("CreateCluster") != 0 {
		t.Fatalf("status %s, groups %v, calls %v", s.Status, e.api.groups, e.api.calls)
	}
	if !strings.Contains(strings.Join(e.events(), ","), "Logs CREATE_FAILED") {
		t.Errorf("events %v", e.events())
	}
}

func TestRetainedResourceOutlivesTheStack(t *testing.T) {
	e := newEnv(t)
	e.start(strings.Replace(logsAndCluster, "    Type: AWS::Logs::LogGroup\n", "    Type: AWS::Logs::LogGroup\n    DeletionPolicy: Retain\n", 1), false)
	if s := e.run(); s.Status != cfnstate.CreateComplete {
		t.Fatalf("create: %s", s.Status)
	}
	if _, err := cfnstate.UpdateStack(context.Background(), e.store, "us-east-1", "u1", func(s *cfnstate.Stack) ([]store.Op, error) {
		s.Operation = &cfnstate.Operation{}
		s.SetStatus(time.Now(), cfnstate.DeleteInProgress, "User Initiated")
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	s := e.run()
	if s.Status != cfnstate.DeleteComplete || !e.api.groups["/app"] || s.Resources["Logs"].Status != cfnstate.DeleteSkipped {
		t.Fatalf("status %s, groups %v, log group %s", s.Status, e.api.groups, s.Resources["Logs"].Status)
	}
}

// update asks for an update to body, as UpdateStack does.
func (e *env) update(body string) {
	e.t.Helper()
	if _, err := cfnstate.UpdateStack(context.Background(), e.store, "us-east-1", "u1", func(s *cfnstate.Stack) ([]store.Op, error) {
		s.Operation = &cfnstate.Operation{Template: body, Started: time.Now(),
			Previous: &cfnstate.Deployment{Template: s.Template, Parameters: s.Parameters, Outputs: s.Outputs}}
		s.Pass++
		s.SetStatus(time.Now(), cfnstate.UpdateInProgress, "User Initiated")
		return nil, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

const updatedTemplate = `
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /app-v2
      RetentionInDays: 7
  Other:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /other
      RetentionInDays: 1
`

func TestUpdateReplacesAddsRemovesAndCleansUp(t *testing.T) {
	e := newEnv(t)
	e.start(logsAndCluster, false)
	if s := e.run(); s.Status != cfnstate.CreateComplete {
		t.Fatalf("create: %s", s.Status)
	}
	e.update(updatedTemplate)
	s := e.run()
	if s.Status != cfnstate.UpdateComplete {
		t.Fatalf("update: %s (%s) %v", s.Status, s.StatusReason, e.events())
	}
	// A new name replaces the log group; the cluster the template no
	// longer has is deleted; the new group is made.
	if !e.api.groups["/app-v2"] || e.api.groups["/app"] || !e.api.groups["/other"] || len(e.api.clusters) != 0 {
		t.Fatalf("groups %v clusters %v", e.api.groups, e.api.clusters)
	}
	if len(s.Resources) != 2 || s.Resources["Logs"].PhysicalID != "/app-v2" || s.Resources["Logs"].Replaced != nil || s.Outputs != nil {
		t.Fatalf("resources %+v, outputs %+v", s.Resources, s.Outputs)
	}
	if _, err := store.Get[cfnstate.Export](context.Background(), e.store, cfnstate.ExportKey("us-east-1", "app-cluster")); err == nil {
		t.Error("the export of a removed output stayed")
	}
	evs := strings.Join(e.events(), ",")
	for _, want := range []string{"app UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "Logs UPDATE_COMPLETE", "Cluster DELETE_COMPLETE", "Other CREATE_COMPLETE", "app UPDATE_COMPLETE"} {
		if !strings.Contains(evs, want) {
			t.Errorf("no %q in %s", want, evs)
		}
	}
	// Unchanged, nothing is called.
	calls := len(e.api.calls)
	e.update(updatedTemplate)
	if s := e.run(); s.Status != cfnstate.UpdateComplete || len(e.api.calls) != calls {
		t.Errorf("an update that changes nothing: %s, calls %v", s.Status, e.api.calls[calls:])
	}
}

func TestFailedUpdateRollsBack(t *testing.T) {
	e := newEnv(t)
	e.start(logsAndCluster, false)
	if s := e.run(); s.Status != cfnstate.CreateComplete {
		t.Fatalf("create: %s", s.Status)
	}
	e.api.fail["CreateLogGroup"] = &awsapi.Error{Code: "LimitExceededException", Message: "too many groups"}
	e.update(strings.Replace(updatedTemplate, "/other", "/other", 1))
	s := e.run()
	if s.Status != cfnstate.UpdateRollbackComplete {
		t.Fatalf("status %s (%s), events %v", s.Status, s.StatusReason, e.events())
	}
	// Back as it was: the old group and the cluster, nothing new left.
	if !e.api.groups["/app"] || len(e.api.groups) != 1 || !e.api.clusters["app-cluster"] {
		t.Fatalf("groups %v clusters %v", e.api.groups, e.api.clusters)
	}
	if s.Resources["Logs"].PhysicalID != "/app" || len(s.Resources) != 2 || s.Template != logsAndCluster || len(s.Outputs) != 1 {
		t.Fatalf("after rollback: %+v", s)
	}
	evs := strings.Join(e.events(), ",")
	for _, want := range []string{"app UPDATE_ROLLBACK_IN_PROGRESS", "app UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "app UPDATE_ROLLBACK_COMPLETE"} {
		if !strings.Contains(evs, want) {
			t.Errorf("no %q in %s", want, evs)
		}
	}
}

// A create whose outcome a restart left unknown, of a resource found by
// name: made again if it is not there, rolled back if it is.
func TestInterruptedCreateOfANamedResource(t *testing.T) {
	for _, made := range []bool{false, true} {
		t.Run(fmt.Sprint("made=", made), func(t *testing.T) {
			e := newEnv(t)
			e.start(logsAndCluster, false)
			if _, err := cfnstate.UpdateStack(context.Background(), e.store, "us-east-1", "u1", func(s *cfnstate.Stack) ([]store.Op, error) {
				s.Resources["Logs"] = &cfnstate.Resource{LogicalID: "Logs", Type: "AWS::Logs::LogGroup", PlannedName: "/app"}
				s.SetResourceStatus(time.Now(), "Logs", cfnstate.CreateInProgress, "")
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}
			if made {
				e.api.groups["/app"] = true
			}
			s := e.run()
			want := cfnstate.CreateComplete
			if made {
				want = cfnstate.RollbackComplete
			}
			if s.Status != want {
				t.Fatalf("status %s, events %v", s.Status, e.events())
			}
			if made != (len(e.api.groups) == 0) {
				t.Errorf("groups %v", e.api.groups)
			}
		})
	}
}

// A resource the template names that exists already, made outside the
// stack, is never adopted: the create fails and the rollback leaves it.
func TestNamedResourceThatExistsIsNotAdopted(t *testing.T) {
	e := newEnv(t)
	e.api.groups["/app"] = true
	e.start(logsAndCluster, false)
	s := e.run()
	if s.Status != cfnstate.RollbackComplete || !e.api.groups["/app"] || e.api.called("DeleteLogGroup") != 0 {
		t.Fatalf("status %s, groups %v, calls %v", s.Status, e.api.groups, e.api.calls)
	}
	if r := e.eventReason("Logs", cfnstate.CreateFailed); r != "Resource of type 'AWS::Logs::LogGroup' with identifier '/app' already exists." {
		t.Errorf("reason %q", r)
	}
}

// A stack with a service role makes its resources as that role.
func TestServiceRoleMakesTheResources(t *testing.T) {
	e := newEnv(t)
	e.start(logsAndCluster, false)
	if _, err := cfnstate.UpdateStack(context.Background(), e.store, "us-east-1", "u1", func(s *cfnstate.Stack) ([]store.Op, error) {
		s.RoleARN = "arn:aws:iam::123456789012:role/ops/deployer"
		s.Caller = awsapi.Caller{ARN: "arn:aws:iam::123456789012:user/dev"}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if s := e.run(); s.Status != cfnstate.CreateComplete {
		t.Fatalf("status %s", s.Status)
	}
	want := "arn:aws:sts::123456789012:assumed-role/deployer/AWSCloudFormation"
	if len(e.api.callers) != 1 || !e.api.callers[want] {
		t.Errorf("calls came as %v, want only %s", e.api.callers, want)
	}
}
