// Package stacks is the controller that carries out CloudFormation stack
// operations the CloudFormation API records (cfnstate.Stack.Operation):
// it creates a stack's resources in dependency order, independent ones
// in parallel, waits for those that settle (a service reaching its steady
// state), evaluates the outputs, and on a failure rolls back; it deletes
// stacks in reverse dependency order. Each resource's create and delete
// goes through provision, which calls berth's own APIs as the caller who
// started the operation.
//
// Every step is committed with its events before the next: a server that
// stops in the middle of an operation resumes it when it starts again. A
// resource whose create or delete call was under way when the server
// stopped has an unknown outcome; the controller fails it, so the stack
// rolls back (a create) or reports the failure (a delete), and never
// stays in progress.
package stacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/cfnstate"
	"github.com/berth/berth/internal/cloudformation/provision"
	"github.com/berth/berth/internal/cloudformation/resourcespec"
	"github.com/berth/berth/internal/cloudformation/template"
	"github.com/berth/berth/internal/controller"
	"github.com/berth/berth/internal/store"
)

// Config wires the controller.
type Config struct {
	Store store.Store
	// API makes the resources' calls (gateway.Gateway.Invoke).
	API        provision.Invoker
	AccountID  string
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Controller carries out stack operations.
type Controller struct {
	cfg Config
	log *slog.Logger
}

// New returns the controller.
func New(cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Controller{cfg: cfg, log: cfg.Logger.With("controller", "stacks")}
}

// settlePoll is how often a settling resource is looked at.
const settlePoll = time.Second

// Run runs the controller until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	return controller.New(controller.Config{
		Reconciler:    c,
		Workers:       4,
		Watches:       []controller.Watch{controller.FollowRecords(c.cfg.Store, cfnstate.StackPrefix, operationUnderWay)},
		Keys:          controller.RecordKeys(c.cfg.Store, cfnstate.StackPrefix, operationUnderWay),
		Resync:        time.Minute,
		Logger:        c.log,
		MetricsPrefix: "berth_cloudformation_stacks",
		Registerer:    c.cfg.Registerer,
	}).Run(ctx)
}

// operationUnderWay is a cheap test of a stack record: only stacks with an
// operation are decoded.
func operationUnderWay(value []byte) bool {
	return strings.Contains(string(value), `"Operation":{`)
}

// Reconcile takes the next step of a stack's operation.
func (c *Controller) Reconcile(ctx context.Context, key string) (controller.Result, error) {
	cur, err := store.Get[cfnstate.Stack](ctx, c.cfg.Store, key)
	if errors.Is(err, store.ErrNotFound) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	s := &cur.Value
	if s.Operation == nil || !cfnstate.InProgress(s.Status) {
		return controller.Result{}, nil
	}
	run := &operation{c: c, stack: s}
	switch s.Status {
	case cfnstate.CreateInProgress, cfnstate.UpdateInProgress, cfnstate.UpdateRollbackInProgress:
		return run.converge(ctx)
	case cfnstate.RollbackInProgress, cfnstate.DeleteInProgress:
		return run.deleteAll(ctx)
	case cfnstate.UpdateCompleteCleanupInProgress, cfnstate.UpdateRollbackCompleteCleanupInProgress:
		return run.cleanup(ctx)
	}
	return controller.Result{}, controller.Terminal(fmt.Errorf("stack %s: berth cannot carry out %s yet", s.Name, s.Status))
}

// operation is one reconcile of one stack.
type operation struct {
	c     *Controller
	stack *cfnstate.Stack
}

// commit applies change to the stored stack (with its events).
func (o *operation) commit(ctx context.Context, change func(s *cfnstate.Stack) error) error {
	_, err := cfnstate.UpdateStack(ctx, o.c.cfg.Store, o.stack.Region, o.stack.UUID, func(s *cfnstate.Stack) ([]store.Op, error) {
		return nil, change(s)
	})
	return err
}

// context is ctx as the stack's caller, for the resources' calls.
// A stack with a service role (RoleARN) makes its resources as a session
// of that role, as CloudFormation assumes it; otherwise as the caller.
func (o *operation) context(ctx context.Context) context.Context {
	caller := o.stack.Caller
	if arn := o.stack.RoleARN; arn != "" {
		name := arn[strings.LastIndex(arn, "/")+1:]
		caller = awsapi.Caller{ARN: "arn:aws:sts::" + o.c.cfg.AccountID + ":assumed-role/" + name + "/AWSCloudFormation"}
	}
	return awsapi.WithRequest(ctx, &awsapi.RequestInfo{AccountID: o.c.cfg.AccountID, Region: o.stack.Region, Caller: caller})
}

// scopeOf reads a template with parameters that were checked when the
// operation was asked for.
func (o *operation) scopeOf(body string, params []cfnstate.Parameter) (*template.Scope, error) {
	t, err := template.Parse([]byte(body))
	if err != nil {
		return nil, err
	}
	return cfnstate.Scope(t, params, o.pseudo())
}

func (o *operation) pseudo() template.PseudoParameters {
	return template.PseudoParameters{Region: o.stack.Region, AccountID: o.c.cfg.AccountID,
		StackName: o.stack.Name, StackID: o.stack.ID, NotificationARNs: o.stack.NotificationARNs}
}

func (o *operation) provisionStack() provision.Stack {
	tags := map[string]string{}
	for _, t := range o.stack.Tags {
		tags[t.Key] = t.Value
	}
	return provision.Stack{Name: o.stack.Name, ID: o.stack.ID, Region: o.stack.Region, Account: o.c.cfg.AccountID, Tags: tags}
}

// pass is what a converging status works toward: the template, what a
// resource's failure leads to, and what follows once every resource is
// there.
type pass struct {
	body   string
	params []cfnstate.Parameter
	// onFailure is the stack status a failed resource leads to.
	onFailure string
	// done is the status once every resource matches the template.
	done string
	// rollback marks an update's rollback: a replaced resource gets its
	// old instance back instead of a new one.
	rollback bool
}

// passOf is the pass a converging stack is in.
func passOf(s *cfnstate.Stack) pass {
	op := s.Operation
	switch s.Status {
	case cfnstate.CreateInProgress:
		p := pass{body: op.Template, params: op.Parameters, onFailure: cfnstate.RollbackInProgress, done: cfnstate.CreateComplete}
		if s.DisableRollback {
			p.onFailure = cfnstate.CreateFailed
		}
		return p
	case cfnstate.UpdateInProgress:
		p := pass{body: op.Template, params: op.Parameters, onFailure: cfnstate.UpdateRollbackInProgress, done: cfnstate.UpdateCompleteCleanupInProgress}
		if s.DisableRollback {
			p.onFailure = cfnstate.UpdateFailed
		}
		return p
	}
	return pass{body: op.Previous.Template, params: op.Previous.Parameters, onFailure: cfnstate.UpdateRollbackFailed,
		done: cfnstate.UpdateRollbackCompleteCleanupInProgress, rollback: true}
}

// converge takes the next step of bringing the stack's resources to a
// template: a create, an update, or an update's rollback. Resources whose
// dependencies are there are made or changed in parallel; settling ones
// are asked whether they are ready.
func (o *operation) converge(ctx context.Context) (controller.Result, error) {
	s := o.stack
	p := passOf(s)
	scope, err := o.scopeOf(p.body, p.params)
	if err != nil {
		return controller.Result{}, o.failPass(ctx, p, err.Error())
	}
	now := o.c.cfg.Now()
	// A create or update call that was under way when the server
	// stopped: its outcome is unknown.
	var interrupted []string
	for _, id := range sortedKeys(s.Resources) {
		if r := s.Resources[id]; r.Pass == s.Pass && cfnstate.InProgress(r.Status) && !r.Settling {
			interrupted = append(interrupted, id)
		}
	}
	if len(interrupted) > 0 {
		for _, id := range interrupted {
			if err := o.recover(ctx, id, now); err != nil {
				return controller.Result{}, err
			}
		}
		return controller.Result{}, nil
	}
	if failed := o.failedInPass(); len(failed) > 0 {
		return controller.Result{}, o.passFailed(ctx, p, failed)
	}
	if limit := time.Duration(s.TimeoutInMinutes) * time.Minute; limit > 0 && s.Status == cfnstate.CreateInProgress &&
		now.Sub(s.Operation.Started) > limit {
		return controller.Result{}, o.failPass(ctx, p, "Stack creation time exceeded the specified timeout. Rollback requested by user.") // UNVERIFIED
	}

	var ready, settling []string
	handled := 0
	active := scope.ActiveResources()
	for _, tr := range active {
		r := s.Resources[tr.LogicalID]
		switch {
		case r != nil && r.Pass == s.Pass && r.Settling:
			settling = append(settling, tr.LogicalID)
		case r != nil && r.Pass == s.Pass:
			handled++
		default:
			deps, err := scope.Dependencies(tr.LogicalID)
			if err != nil {
				return controller.Result{}, o.failPass(ctx, p, err.Error())
			}
			if o.allHandled(deps) {
				ready = append(ready, tr.LogicalID)
			}
		}
	}
	if handled == len(active) {
		return controller.Result{}, o.completePass(ctx, p, scope)
	}

	var wg sync.WaitGroup
	for _, id := range ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.bring(ctx, scope, p, id)
		}()
	}
	for _, id := range settling {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.settle(ctx, id)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return controller.Result{}, err
	}
	if len(ready) == 0 && len(settling) > 0 {
		return controller.Result{RequeueAfter: settlePoll}, nil
	}
	// The commits made queue the stack again.
	return controller.Result{}, nil
}

// recover settles a create or update that was under way when berth
// stopped. A create of a resource that can be looked up by name is asked
// again if the resource does not exist, and fails if it does (a rollback
// deletes it: whether the create finished is unknown); anything else
// fails, with what a lookup finds recorded for the rollback to delete.
func (o *operation) recover(ctx context.Context, id string, now time.Time) error {
	r := o.stack.Resources[id]
	pv, _ := provision.For(r.Type)
	var found provision.Result
	exists := false
	if pv != nil && pv.Find != nil && r.PlannedName != "" {
		var err error
		if found, exists, err = pv.Find(o.context(ctx), o.call(r, r.Properties, nil)); err != nil {
			return err
		}
	}
	reason := "Resource " + verb(r.Status) + " was interrupted: berth stopped while it was under way."
	return o.commit(ctx, func(s *cfnstate.Stack) error {
		r := s.Resources[id]
		if r == nil || !cfnstate.InProgress(r.Status) || r.Settling {
			return store.ErrUnchanged
		}
		switch {
		case r.Status == cfnstate.CreateInProgress && pv != nil && pv.Find != nil && r.PlannedName != "" && !exists:
			// Never made: made again by the next step.
			delete(s.Resources, id)
			return nil
		case r.Status == cfnstate.CreateInProgress && exists:
			r.PhysicalID, r.Attributes = found.PhysicalID, found.Attributes
		case r.Replacing && exists && found.PhysicalID != r.PhysicalID:
			old := *r
			old.Replaced, old.Replacing, old.PlannedName = nil, false, ""
			r.PhysicalID, r.Attributes, r.Replaced = found.PhysicalID, found.Attributes, &old
		}
		r.Replacing, r.PlannedName = false, ""
		s.SetResourceStatus(now, id, failedStatus(r.Status), reason)
		return nil
	})
}

// failedStatus is the failure of an in-progress status's verb.
func failedStatus(inProgress string) string {
	return strings.TrimSuffix(inProgress, "_IN_PROGRESS") + "_FAILED"
}

// completeStatus is the completion of an in-progress status's verb.
func completeStatus(inProgress string) string {
	return strings.TrimSuffix(inProgress, "_IN_PROGRESS") + "_COMPLETE"
}

// verb names what an in-progress status does, for reasons.
func verb(inProgress string) string {
	switch inProgress {
	case cfnstate.CreateInProgress:
		return "creation"
	case cfnstate.DeleteInProgress:
		return "deletion"
	}
	return "update"
}

// allHandled reports whether this pass has brought every named resource
// to the template.
func (o *operation) allHandled(ids []string) bool {
	for _, id := range ids {
		r := o.stack.Resources[id]
		if r == nil || r.Pass != o.stack.Pass || r.Settling || !strings.HasSuffix(r.Status, "_COMPLETE") {
			return false
		}
	}
	return true
}

// failedInPass lists the resources this pass failed.
func (o *operation) failedInPass() []string {
	var ids []string
	for _, id := range sortedKeys(o.stack.Resources) {
		r := o.stack.Resources[id]
		if r.Pass == o.stack.Pass && (r.Status == cfnstate.CreateFailed || r.Status == cfnstate.UpdateFailed) {
			ids = append(ids, id)
		}
	}
	return ids
}

// resolver gives the template the stack's made resources' values.
type resolver struct {
	ctx   context.Context
	stack *cfnstate.Stack
	api   provision.Invoker
	store store.Store
}

func (r resolver) Ref(id string) (any, error) {
	res := r.stack.Resources[id]
	if res == nil || res.PhysicalID == "" {
		return nil, fmt.Errorf("resource %s has no physical id yet", id)
	}
	return res.PhysicalID, nil
}

func (r resolver) GetAtt(id, attr string) (any, error) {
	res := r.stack.Resources[id]
	if res == nil {
		return nil, fmt.Errorf("resource %s does not exist", id)
	}
	v, ok := res.Attributes[attr]
	if !ok {
		if spec, known := resourcespec.Lookup(res.Type); known && spec.HasAttribute(attr) {
			return nil, provision.Failure(fmt.Sprintf("berth does not provide the attribute %s of %s (%s) yet", attr, id, res.Type))
		}
		return nil, &template.ValidationError{Message: fmt.Sprintf("Template error: resource %s does not support attribute type %s in Fn::GetAtt", id, attr)}
	}
	return v, nil
}

func (r resolver) GetAZs(region string) ([]string, error) {
	return provision.AvailabilityZones(r.ctx, r.api, region)
}

func (r resolver) ImportValue(name string) (string, error) {
	value, found, err := cfnstate.ExportValue(r.ctx, r.store, r.stack.Region, name)
	if err == nil && !found {
		err = provision.Failure("No export named " + name + " found.")
	}
	return value, err
}

func (o *operation) resolver(ctx context.Context) resolver {
	return resolver{ctx: o.context(ctx), stack: o.stack, api: o.c.cfg.API, store: o.c.cfg.Store}
}

// properties evaluates and checks a resource's properties.
func (o *operation) properties(ctx context.Context, scope *template.Scope, id string) (map[string]any, error) {
	tr, _ := scope.Template.Resource(id)
	evaluated, err := scope.Evaluate(tr.Properties, o.resolver(ctx))
	if err != nil {
		return nil, err
	}
	props, _ := evaluated.(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	spec, ok := resourcespec.Lookup(tr.Type)
	if !ok {
		return props, nil
	}
	norm, err := spec.Normalize(props)
	var verr *resourcespec.ValidationError
	if errors.As(err, &verr) {
		return nil, provision.Failure(verr.ForResource(id))
	}
	return norm, err
}

// bring makes one resource, whose dependencies this pass has handled,
// what the template says: creates it, changes it in place, replaces it,
// or (unchanged) only records the pass.
func (o *operation) bring(ctx context.Context, scope *template.Scope, p pass, id string) {
	tr, _ := scope.Template.Resource(id)
	pv, supported := provision.For(tr.Type)
	props, err := o.properties(ctx, scope, id)
	if err == nil && !supported {
		err = provision.Failure(fmt.Sprintf("berth does not support the resource type %s yet", tr.Type))
	}
	cur := o.stack.Resources[id]
	if cur == nil || cur.PhysicalID == "" || cur.Type != tr.Type || done(cur.Status) && cur.Status != "" {
		o.create(ctx, tr, pv, props, err)
		return
	}
	if err != nil {
		o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
			s.SetResourceStatus(now, id, cfnstate.UpdateInProgress, "")
			s.SetResourceStatus(now, id, cfnstate.UpdateFailed, handlerMessage(err))
		})
		return
	}
	if p.rollback && cur.Replaced != nil {
		// The update replaced it: its old instance comes back, and the
		// cleanup deletes the new one.
		o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
			r := s.Resources[id]
			restored := *r.Replaced
			replacement := *r
			replacement.Replaced = nil
			restored.Replaced = &replacement
			restored.Pass = s.Pass
			s.Resources[id] = &restored
			s.SetResourceStatus(now, id, cfnstate.UpdateComplete, "")
		})
		return
	}
	applied := cur.Properties
	if cur.Attempted != nil {
		applied = cur.Attempted
	}
	diff := changes(tr.Type, applied, props)
	metadata := metadataOf(tr)
	if !diff.changed && cur.DeletionPolicy == tr.DeletionPolicy && cur.UpdateReplacePolicy == tr.UpdateReplacePolicy && cur.Metadata == metadata {
		o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
			if strings.HasSuffix(s.Resources[id].Status, "_FAILED") {
				// What failed last pass is as this pass wants it.
				s.SetResourceStatus(now, id, cfnstate.UpdateComplete, "")
			}
		})
		return
	}
	if !diff.changed {
		// Only the policies changed: CloudFormation records them with an
		// update of the resource that calls nothing.
		o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
			r := s.Resources[id]
			r.DeletionPolicy, r.UpdateReplacePolicy, r.Metadata = tr.DeletionPolicy, tr.UpdateReplacePolicy, metadata
			s.SetResourceStatus(now, id, cfnstate.UpdateInProgress, "")
			s.SetResourceStatus(now, id, cfnstate.UpdateComplete, "")
		})
		return
	}
	if diff.replace || pv.Update == nil {
		o.replace(ctx, tr, pv, cur, props)
		return
	}
	o.updateInPlace(ctx, tr, pv, cur, props)
}

// metadataOf is a resource's Metadata as DescribeStackResource shows it:
// JSON, "" for none.
func metadataOf(tr *template.Resource) string {
	if tr.Metadata == nil {
		return ""
	}
	b, err := json.Marshal(tr.Metadata)
	if err != nil {
		return ""
	}
	return string(b)
}

// record commits a change to one resource in this pass; the resource
// records the pass.
func (o *operation) record(ctx context.Context, id string, change func(s *cfnstate.Stack, now time.Time)) {
	now := o.c.cfg.Now()
	if err := o.commit(ctx, func(s *cfnstate.Stack) error {
		change(s, now)
		if r := s.Resources[id]; r != nil {
			r.Pass = s.Pass
		}
		return nil
	}); err != nil {
		o.c.log.ErrorContext(ctx, "record resource", "stack", o.stack.Name, "resource", id, "error", err)
	}
}

// call builds a provisioner call for a resource.
func (o *operation) call(r *cfnstate.Resource, props, previous map[string]any) *provision.Call {
	return provision.NewCall(o.c.cfg.API, provision.Request{
		Stack: o.provisionStack(), LogicalID: r.LogicalID, Type: r.Type, Properties: props, Previous: previous,
		PhysicalID: r.PhysicalID, Attributes: r.Attributes, PlannedName: r.PlannedName, Token: r.SettleToken})
}

// create makes a resource the stack does not have yet.
func (o *operation) create(ctx context.Context, tr *template.Resource, pv *provision.Provisioner, props map[string]any, perr error) {
	id := tr.LogicalID
	planned := ""
	if pv != nil {
		planned = pv.PlannedName(o.stack.Name, id, props)
	}
	err := perr
	if err == nil && pv.Find != nil && props[pv.NameProperty] != nil {
		// A name the template gives may be taken by a resource the stack
		// did not make: CloudFormation refuses to create over it, and
		// must never adopt it, or the stack's deletion would delete it.
		// Checked before the create is recorded, so that after a restart
		// whatever has the name is the stack's own (see recover).
		if _, exists, ferr := pv.Find(o.context(ctx), o.call(&cfnstate.Resource{LogicalID: id, Type: tr.Type, PlannedName: planned}, props, nil)); ferr != nil {
			err = ferr
		} else if exists {
			err = provision.Failure(fmt.Sprintf("Resource of type '%s' with identifier '%s' already exists.", tr.Type, planned))
		}
	}
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		r := &cfnstate.Resource{LogicalID: id, Type: tr.Type, DeletionPolicy: tr.DeletionPolicy,
			UpdateReplacePolicy: tr.UpdateReplacePolicy, Properties: props, Metadata: metadataOf(tr)}
		if err == nil {
			r.PlannedName = planned
		}
		s.Resources[id] = r
		s.SetResourceStatus(now, id, cfnstate.CreateInProgress, "")
	})
	var res provision.Result
	if err == nil {
		res, err = pv.Create(o.context(ctx), o.call(&cfnstate.Resource{LogicalID: id, Type: tr.Type, PlannedName: planned}, props, nil))
	}
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		r := s.Resources[id]
		r.PlannedName = ""
		if res.PhysicalID != "" {
			r.PhysicalID, r.Attributes = res.PhysicalID, res.Attributes
			s.SetResourceStatus(now, id, cfnstate.CreateInProgress, "Resource creation Initiated")
		}
		o.finish(s, now, id, cfnstate.CreateInProgress, res, pv, err)
	})
}

// finish records the end of a create or an update call: failed, settling,
// or complete.
func (o *operation) finish(s *cfnstate.Stack, now time.Time, id, inProgress string, res provision.Result, pv *provision.Provisioner, err error) {
	switch {
	case err != nil:
		s.SetResourceStatus(now, id, failedStatus(inProgress), handlerMessage(err))
	case res.Settling && pv.Settled != nil:
		s.Resources[id].Settling, s.Resources[id].SettleToken = true, res.Token
	default:
		s.SetResourceStatus(now, id, completeStatus(inProgress), "")
	}
}

// updateInPlace changes a resource without replacing it.
func (o *operation) updateInPlace(ctx context.Context, tr *template.Resource, pv *provision.Provisioner, cur *cfnstate.Resource, props map[string]any) {
	id := tr.LogicalID
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		// Kept until the update succeeds: a failure or a restart
		// leaves the resource perhaps changed, and the rollback changes
		// it back from these.
		if s.Resources[id].Attempted == nil {
			s.Resources[id].Attempted = props
		}
		s.SetResourceStatus(now, id, cfnstate.UpdateInProgress, "")
	})
	applied := cur.Properties
	if cur.Attempted != nil {
		applied = cur.Attempted
	}
	res, err := pv.Update(o.context(ctx), o.call(cur, props, applied))
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		r := s.Resources[id]
		r.Attempted = nil
		if err != nil {
			r.Attempted = props
		}
		if err == nil {
			r.Properties = props
			r.DeletionPolicy, r.UpdateReplacePolicy, r.Metadata = tr.DeletionPolicy, tr.UpdateReplacePolicy, metadataOf(tr)
			if res.Attributes != nil {
				r.Attributes = res.Attributes
			}
		}
		o.finish(s, now, id, cfnstate.UpdateInProgress, res, pv, err)
	})
}

// replace makes a new instance of a resource; the cleanup deletes the old
// one (or the rollback's cleanup the new one).
func (o *operation) replace(ctx context.Context, tr *template.Resource, pv *provision.Provisioner, cur *cfnstate.Resource, props map[string]any) {
	id := tr.LogicalID
	if name := pv.NameProperty; name != "" && props[name] != nil && props[name] == cur.Properties[name] {
		o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
			s.SetResourceStatus(now, id, cfnstate.UpdateInProgress, "")
			s.SetResourceStatus(now, id, cfnstate.UpdateFailed, fmt.Sprintf(
				"CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename %s and update the stack again.", props[name]))
		})
		return
	}
	planned := pv.PlannedName(o.stack.Name, id, props)
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		r := s.Resources[id]
		r.PlannedName, r.Replacing = planned, true
		s.SetResourceStatus(now, id, cfnstate.UpdateInProgress, "Requested update requires the creation of a new physical resource; hence creating one.")
	})
	res, err := pv.Create(o.context(ctx), o.call(&cfnstate.Resource{LogicalID: id, Type: tr.Type, PlannedName: planned}, props, nil))
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		r := s.Resources[id]
		r.PlannedName, r.Replacing = "", false
		if res.PhysicalID != "" {
			old := *r
			old.Replaced = nil
			*r = cfnstate.Resource{LogicalID: id, Type: tr.Type, PhysicalID: res.PhysicalID, Attributes: res.Attributes,
				Properties: props, DeletionPolicy: tr.DeletionPolicy, UpdateReplacePolicy: tr.UpdateReplacePolicy, Metadata: metadataOf(tr), Replaced: &old}
			s.SetResourceStatus(now, id, cfnstate.UpdateInProgress, "Resource creation Initiated")
		}
		o.finish(s, now, id, cfnstate.UpdateInProgress, res, pv, err)
	})
}

// settle asks whether a settling resource is ready.
func (o *operation) settle(ctx context.Context, id string) {
	r := o.stack.Resources[id]
	pv, _ := provision.For(r.Type)
	done, err := pv.Settled(o.context(ctx), o.call(r, r.Properties, nil))
	if !done && err == nil {
		return
	}
	now := o.c.cfg.Now()
	if cerr := o.commit(ctx, func(s *cfnstate.Stack) error {
		r := s.Resources[id]
		if !r.Settling {
			return store.ErrUnchanged
		}
		r.Settling, r.SettleToken = false, ""
		if err != nil {
			s.SetResourceStatus(now, id, failedStatus(r.Status), handlerMessage(err))
		} else {
			s.SetResourceStatus(now, id, completeStatus(r.Status), "")
		}
		return nil
	}); cerr != nil {
		o.c.log.ErrorContext(ctx, "record settled resource", "stack", o.stack.Name, "resource", id, "error", cerr)
	}
}

// handlerMessage is a resource failure as its event shows it: a service's
// error in CloudFormation's wrapping for resource handlers, a failure in
// CloudFormation's own words as it is.
func handlerMessage(err error) string {
	var f provision.Failure
	if errors.As(err, &f) {
		return string(f)
	}
	var aerr *awsapi.Error
	if errors.As(err, &aerr) {
		return fmt.Sprintf("Resource handler returned message: %q (RequestToken: %s, HandlerErrorCode: %s)", // UNVERIFIED: the handler error code per service error
			aerr.Message, uuid.NewString(), handlerErrorCode(aerr))
	}
	var verr *template.ValidationError
	if errors.As(err, &verr) {
		return verr.Message
	}
	return fmt.Sprintf("Internal Failure: %v", err)
}

// handlerErrorCode is the resource handler error code CloudFormation
// gives a service's error.
func handlerErrorCode(aerr *awsapi.Error) string {
	code := aerr.Code
	switch {
	case strings.Contains(code, "NotFound"), strings.HasPrefix(code, "NoSuch"):
		return "NotFound"
	case strings.Contains(code, "AlreadyExists"), strings.Contains(code, "Duplicate"):
		return "AlreadyExists"
	case strings.Contains(code, "AccessDenied"), strings.Contains(code, "Unauthorized"):
		return "AccessDenied"
	case strings.Contains(code, "Limit"), strings.Contains(code, "TooMany"):
		return "ServiceLimitExceeded"
	case aerr.HTTPStatus() >= 500:
		return "ServiceInternalError"
	}
	return "InvalidRequest"
}

// change is what an update changes of a resource.
type change struct{ changed, replace bool }

// changes compares a resource's properties as applied with the new ones,
// by the type's schema where berth has it.
func changes(resourceType string, old, props map[string]any) change {
	if spec, ok := resourcespec.Lookup(resourceType); ok {
		d := spec.Diff(old, props)
		return change{changed: len(d.Changed) > 0, replace: d.Replace}
	}
	a, _ := json.Marshal(old)
	b, _ := json.Marshal(props)
	return change{changed: string(a) != string(b), replace: string(a) != string(b)}
}

// passFailed ends a pass in which resources failed: settling ones are
// cancelled, and the stack goes to the pass's failure status (a rollback,
// or a failed status when rollback is off or a rollback failed).
func (o *operation) passFailed(ctx context.Context, p pass, failed []string) error {
	action := "create"
	if o.stack.Status != cfnstate.CreateInProgress {
		action = "update"
	}
	reason := "The following resource(s) failed to " + action + ": [" + strings.Join(failed, ", ") + "]. "
	if p.onFailure == cfnstate.RollbackInProgress || p.onFailure == cfnstate.UpdateRollbackInProgress {
		reason += "Rollback requested by user."
	}
	return o.failPass(ctx, p, reason)
}

// failPass moves the stack to the pass's failure status.
func (o *operation) failPass(ctx context.Context, p pass, reason string) error {
	now := o.c.cfg.Now()
	status := o.stack.Status
	return o.commit(ctx, func(s *cfnstate.Stack) error {
		if s.Status != status {
			return store.ErrUnchanged
		}
		for _, id := range sortedKeys(s.Resources) {
			if r := s.Resources[id]; r.Settling {
				r.Settling = false
				s.SetResourceStatus(now, id, failedStatus(r.Status), "Resource "+verb(r.Status)+" cancelled")
			}
		}
		s.SetStatus(now, p.onFailure, reason)
		switch p.onFailure {
		case cfnstate.UpdateRollbackInProgress:
			s.Pass++
		case cfnstate.CreateFailed, cfnstate.UpdateFailed:
			s.Operation = nil
		}
		// A failed rollback keeps its operation: ContinueUpdateRollback
		// goes on with it.
		return nil
	})
}

// completePass evaluates the outputs of a pass that brought every
// resource to its template, writes the exports and the imports, and ends
// the pass.
func (o *operation) completePass(ctx context.Context, p pass, scope *template.Scope) error {
	outputs, err := scope.Outputs(o.resolver(ctx))
	if err != nil {
		return o.failPass(ctx, p, err.Error())
	}
	imports, err := o.imports(ctx, scope)
	if err != nil {
		return o.failPass(ctx, p, err.Error())
	}
	now := o.c.cfg.Now()
	var stored []cfnstate.Output
	for _, out := range outputs {
		stored = append(stored, cfnstate.Output{Key: out.Name, Value: out.Value, Description: out.Description, ExportName: out.ExportName})
	}
	status := o.stack.Status
	var refused error
	_, err = cfnstate.UpdateStackTxn(ctx, o.c.cfg.Store, o.stack.Region, o.stack.UUID, func(s *cfnstate.Stack) (store.Txn, error) {
		if s.Status != status {
			return store.Txn{}, store.ErrUnchanged
		}
		txn, err := exportWrites(ctx, o.c.cfg.Store, s, stored, imports)
		var failure provision.Failure
		if errors.As(err, &failure) {
			refused = err
			return store.Txn{}, store.ErrUnchanged
		}
		if err != nil {
			return store.Txn{}, err
		}
		s.Template, s.Parameters = p.body, p.params
		if p.rollback {
			s.Description = s.Operation.Previous.Description
		}
		s.Outputs, s.Imports = stored, imports
		if p.done == cfnstate.CreateComplete {
			s.Operation = nil
		}
		s.SetStatus(now, p.done, "")
		return txn, nil
	})
	if refused != nil {
		return o.failPass(ctx, p, refused.Error())
	}
	return err
}

// imports are the names of the exports a template imports, evaluated.
func (o *operation) imports(ctx context.Context, scope *template.Scope) ([]string, error) {
	var args []any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if arg, ok := x["Fn::ImportValue"]; ok && len(x) == 1 {
				args = append(args, arg)
				return
			}
			for _, item := range x {
				walk(item)
			}
		case []any:
			for _, item := range x {
				walk(item)
			}
		}
	}
	for _, r := range scope.ActiveResources() {
		walk(r.Properties)
	}
	for _, out := range scope.Template.Outputs {
		walk(out.Value)
	}
	var names []string
	for _, arg := range args {
		v, err := scope.Evaluate(arg, o.resolver(ctx))
		if err != nil {
			return nil, err
		}
		if name, ok := v.(string); ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// exportWrites are the writes that make a stack's exports its new outputs'
// and record which exports it imports, each guarded by the revision read:
// two stacks never export one name, and an export another stack imports
// is neither changed nor removed (CloudFormation's refusals, as
// Failures).
func exportWrites(ctx context.Context, st store.Store, s *cfnstate.Stack, outputs []cfnstate.Output, imports []string) (store.Txn, error) {
	var txn store.Txn
	exports := map[string]*cfnstate.Export{} // as read and changed; nil: absent
	dirty := map[string]bool{}
	deleted := map[string]bool{}
	read := func(name string) (*cfnstate.Export, error) {
		if e, ok := exports[name]; ok {
			return e, nil
		}
		key := cfnstate.ExportKey(s.Region, name)
		cur, err := store.Get[cfnstate.Export](ctx, st, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			txn.If = append(txn.If, store.Compare{Key: key})
			exports[name] = nil
			return nil, nil
		case err != nil:
			return nil, err
		}
		txn.If = append(txn.If, store.Compare{Key: key, ModRevision: cur.ModRevision})
		exports[name] = &cur.Value
		return &cur.Value, nil
	}
	importer := func(e *cfnstate.Export) string {
		for _, id := range e.Importers {
			if id != s.ID {
				return stackNameOf(id)
			}
		}
		return ""
	}
	kept := map[string]bool{}
	for _, out := range outputs {
		name := out.ExportName
		if name == "" {
			continue
		}
		kept[name] = true
		e, err := read(name)
		if err != nil {
			return txn, err
		}
		switch {
		case e != nil && e.StackID != s.ID:
			return txn, provision.Failure(fmt.Sprintf("Export with name %s is already exported by stack %s", name, stackNameOf(e.StackID)))
		case e != nil && e.Value != out.Value && importer(e) != "":
			return txn, provision.Failure(fmt.Sprintf("Cannot update export %s as it is in use by %s", name, importer(e)))
		case e == nil:
			e = &cfnstate.Export{Name: name, StackID: s.ID}
			exports[name] = e
		}
		e.Value = out.Value
		dirty[name] = true
	}
	for _, out := range s.Outputs {
		name := out.ExportName
		if name == "" || kept[name] {
			continue
		}
		e, err := read(name)
		if err != nil {
			return txn, err
		}
		if e == nil || e.StackID != s.ID {
			continue
		}
		if user := importer(e); user != "" {
			return txn, provision.Failure(fmt.Sprintf("Export %s cannot be deleted as it is in use by %s", name, user))
		}
		deleted[name] = true
	}
	for _, name := range imports {
		if slices.Contains(s.Imports, name) {
			continue
		}
		e, err := read(name)
		if err != nil {
			return txn, err
		}
		if e == nil {
			return txn, provision.Failure("No export named " + name + " found.")
		}
		if !slices.Contains(e.Importers, s.ID) {
			e.Importers = append(e.Importers, s.ID)
			dirty[name] = true
		}
	}
	for _, name := range s.Imports {
		if slices.Contains(imports, name) {
			continue
		}
		e, err := read(name)
		if err != nil {
			return txn, err
		}
		if e != nil {
			e.Importers = slices.DeleteFunc(e.Importers, func(id string) bool { return id == s.ID })
			dirty[name] = true
		}
	}
	for _, name := range sortedKeys(exports) {
		key := cfnstate.ExportKey(s.Region, name)
		switch {
		case deleted[name]:
			txn.Then = append(txn.Then, store.Delete(key))
		case dirty[name]:
			op, err := store.PutJSON(key, exports[name])
			if err != nil {
				return txn, err
			}
			txn.Then = append(txn.Then, op)
		}
	}
	return txn, nil
}

// cleanup deletes what an update (or its rollback) left behind: the
// instances it replaced and the resources its template no longer has,
// dependents first; then the update is complete.
func (o *operation) cleanup(ctx context.Context) (controller.Result, error) {
	s := o.stack
	scope, err := o.scopeOf(s.Template, s.Parameters)
	if err != nil {
		return controller.Result{}, controller.Terminal(err)
	}
	// The template the removed resources came from orders their deletion.
	from := s.Operation.Template
	if s.Status == cfnstate.UpdateCompleteCleanupInProgress {
		from = s.Operation.Previous.Template
	}
	deps, err := o.dependencies(from)
	if err != nil {
		return controller.Result{}, err
	}
	var replaced, removable []string
	removed := map[string]bool{}
	for _, id := range sortedKeys(s.Resources) {
		r := s.Resources[id]
		if r.Replaced != nil {
			replaced = append(replaced, id)
		}
		if !scope.Active(id) {
			removed[id] = true
		}
	}
	for id := range removed {
		blocked := false
		for other := range removed {
			if other != id && contains(deps[other], id) {
				blocked = true
			}
		}
		if !blocked {
			removable = append(removable, id)
		}
	}
	slices.Sort(removable)
	if len(replaced) == 0 && len(removed) == 0 {
		now := o.c.cfg.Now()
		status := cfnstate.UpdateComplete
		if s.Status == cfnstate.UpdateRollbackCompleteCleanupInProgress {
			status = cfnstate.UpdateRollbackComplete
		}
		return controller.Result{}, o.commit(ctx, func(s *cfnstate.Stack) error {
			if !strings.HasSuffix(s.Status, "_CLEANUP_IN_PROGRESS") {
				return store.ErrUnchanged
			}
			s.Operation = nil
			s.LastUpdated = &now
			s.SetStatus(now, status, "")
			return nil
		})
	}
	var wg sync.WaitGroup
	for _, id := range replaced {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.deleteReplaced(ctx, id)
		}()
	}
	for _, id := range removable {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.deleteRemoved(ctx, id)
		}()
	}
	wg.Wait()
	return controller.Result{}, ctx.Err()
}

// deleteReplaced deletes the instance an update replaced (or keeps it,
// as its UpdateReplacePolicy says). A failure is recorded and the
// update goes on, as CloudFormation's cleanup does.
func (o *operation) deleteReplaced(ctx context.Context, id string) {
	old := *o.stack.Resources[id].Replaced
	if old.UpdateReplacePolicy == "Retain" {
		o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
			s.Record(now, &old, cfnstate.DeleteSkipped, "")
			s.Resources[id].Replaced = nil
		})
		return
	}
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) { s.Record(now, &old, cfnstate.DeleteInProgress, "") })
	err := o.deleteInstance(ctx, &old)
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		if err != nil {
			s.Record(now, &old, cfnstate.DeleteFailed, handlerMessage(err))
		} else {
			s.Record(now, &old, cfnstate.DeleteComplete, "")
		}
		s.Resources[id].Replaced = nil
	})
}

// deleteRemoved deletes a resource the template no longer has (or keeps
// it, as its DeletionPolicy says); the stack forgets it either way.
func (o *operation) deleteRemoved(ctx context.Context, id string) {
	r := *o.stack.Resources[id]
	var err error
	status := cfnstate.DeleteSkipped
	if r.DeletionPolicy != "Retain" && r.PhysicalID != "" {
		o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) { s.SetResourceStatus(now, id, cfnstate.DeleteInProgress, "") })
		err = o.deleteInstance(ctx, &r)
		status = cfnstate.DeleteComplete
	}
	o.record(ctx, id, func(s *cfnstate.Stack, now time.Time) {
		if err != nil {
			s.SetResourceStatus(now, id, cfnstate.DeleteFailed, handlerMessage(err))
		} else {
			s.SetResourceStatus(now, id, status, "")
		}
		delete(s.Resources, id)
	})
}

// deleteInstance deletes one instance of a resource.
func (o *operation) deleteInstance(ctx context.Context, r *cfnstate.Resource) error {
	pv, ok := provision.For(r.Type)
	if !ok || r.PhysicalID == "" {
		return nil
	}
	return pv.Delete(o.context(ctx), o.call(r, r.Properties, nil))
}

// deleteAll deletes a stack's resources, dependents first: the rollback
// of a creation, or a stack's deletion.
func (o *operation) deleteAll(ctx context.Context) (controller.Result, error) {
	s := o.stack
	body := s.Template
	if s.Status == cfnstate.RollbackInProgress {
		body = s.Operation.Template
	}
	deps, err := o.dependencies(body)
	if err != nil {
		return controller.Result{}, err
	}
	now := o.c.cfg.Now()
	if s.Status == cfnstate.DeleteInProgress {
		// An export another stack imports keeps the whole stack: nothing
		// is deleted, as CloudFormation refuses.
		if _, err := exportWrites(ctx, o.c.cfg.Store, s, nil, nil); err != nil {
			var inUse provision.Failure
			if !errors.As(err, &inUse) {
				return controller.Result{}, err
			}
			return controller.Result{}, o.commit(ctx, func(s *cfnstate.Stack) error {
				if s.Status != cfnstate.DeleteInProgress {
					return store.ErrUnchanged
				}
				s.Operation = nil
				s.SetStatus(now, cfnstate.DeleteFailed, err.Error())
				return nil
			})
		}
	}
	var interrupted []string
	for id, r := range s.Resources {
		if r.Status == cfnstate.DeleteInProgress {
			interrupted = append(interrupted, id)
		}
	}
	if len(interrupted) > 0 {
		// A delete under way when berth stopped is asked again: deletes
		// of what is gone succeed.
		for _, id := range interrupted {
			o.deleteResource(ctx, id)
		}
		return controller.Result{}, nil
	}

	var ready, left []string
	for _, id := range sortedKeys(s.Resources) {
		r := s.Resources[id]
		if done(r.Status) {
			continue
		}
		left = append(left, id)
		if r.Status == cfnstate.DeleteFailed {
			continue
		}
		blocked := false
		for other, otherDeps := range deps {
			if o2 := s.Resources[other]; o2 != nil && !done(o2.Status) && contains(otherDeps, id) {
				blocked = true
				break
			}
		}
		if !blocked {
			ready = append(ready, id)
		}
	}
	if len(ready) == 0 {
		return controller.Result{}, o.completeDelete(ctx, left, now)
	}
	var wg sync.WaitGroup
	for _, id := range ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.deleteResource(ctx, id)
		}()
	}
	wg.Wait()
	return controller.Result{}, ctx.Err()
}

// done reports whether a resource needs nothing more from a deletion.
func done(status string) bool {
	return status == cfnstate.DeleteComplete || status == cfnstate.DeleteSkipped || status == ""
}

// dependencies maps each resource of a template to those it depends on.
func (o *operation) dependencies(body string) (map[string][]string, error) {
	deps := map[string][]string{}
	if body == "" {
		return deps, nil
	}
	t, err := template.Parse([]byte(body))
	if err != nil {
		return nil, controller.Terminal(err)
	}
	for _, r := range t.Resources {
		deps[r.LogicalID] = t.Dependencies(r.LogicalID)
	}
	return deps, nil
}

// deleteResource deletes one resource, or keeps it as its DeletionPolicy
// or the deletion's RetainResources say.
func (o *operation) deleteResource(ctx context.Context, id string) {
	r := o.stack.Resources[id]
	now := o.c.cfg.Now()
	retain := r.DeletionPolicy == "Retain" || r.DeletionPolicy == "RetainExceptOnCreate" && o.stack.Status == cfnstate.DeleteInProgress ||
		contains(o.stack.Operation.RetainResources, id)
	if r.PhysicalID == "" {
		// Never made: nothing to delete or keep.
		retain = false
	}
	if retain {
		// A kept resource outlives the stack: the safe side for a user's
		// data, and what the policy promises.
		_ = o.commit(ctx, func(s *cfnstate.Stack) error {
			s.SetResourceStatus(now, id, cfnstate.DeleteSkipped, "")
			return nil
		})
		return
	}
	if err := o.commit(ctx, func(s *cfnstate.Stack) error {
		if s.Resources[id].Status != cfnstate.DeleteInProgress {
			s.SetResourceStatus(now, id, cfnstate.DeleteInProgress, "")
		}
		return nil
	}); err != nil {
		o.c.log.ErrorContext(ctx, "record resource deletion", "stack", o.stack.Name, "resource", id, "error", err)
		return
	}
	err := o.deleteInstance(ctx, r)
	if err == nil && r.Replaced != nil {
		// An instance an update replaced and could not clean up.
		err = o.deleteInstance(ctx, r.Replaced)
	}
	now = o.c.cfg.Now()
	if cerr := o.commit(ctx, func(s *cfnstate.Stack) error {
		if err != nil {
			s.SetResourceStatus(now, id, cfnstate.DeleteFailed, handlerMessage(err))
		} else {
			s.SetResourceStatus(now, id, cfnstate.DeleteComplete, "")
		}
		return nil
	}); cerr != nil {
		o.c.log.ErrorContext(ctx, "record resource deletion", "stack", o.stack.Name, "resource", id, "error", cerr)
	}
}

// completeDelete ends a deletion or a rollback: complete when every
// resource is gone or kept, failed when some could not be deleted. A
// deleted stack's exports go, and it no longer imports any.
func (o *operation) completeDelete(ctx context.Context, left []string, now time.Time) error {
	var refused error
	_, err := cfnstate.UpdateStackTxn(ctx, o.c.cfg.Store, o.stack.Region, o.stack.UUID, func(s *cfnstate.Stack) (store.Txn, error) {
		if s.Status != cfnstate.RollbackInProgress && s.Status != cfnstate.DeleteInProgress {
			return store.Txn{}, store.ErrUnchanged
		}
		rollback := s.Status == cfnstate.RollbackInProgress
		s.Operation = nil
		if len(left) > 0 {
			status := cfnstate.DeleteFailed
			if rollback {
				status = cfnstate.RollbackFailed
			}
			s.SetStatus(now, status, "The following resource(s) failed to delete: ["+strings.Join(left, ", ")+"]. ")
			return store.Txn{}, nil
		}
		if rollback {
			s.SetStatus(now, cfnstate.RollbackComplete, "")
			return store.Txn{}, nil
		}
		txn, err := exportWrites(ctx, o.c.cfg.Store, s, nil, nil)
		var inUse provision.Failure
		if errors.As(err, &inUse) {
			refused = err
			s.SetStatus(now, cfnstate.DeleteFailed, err.Error())
			return store.Txn{}, nil
		}
		if err != nil {
			return store.Txn{}, err
		}
		s.Imports = nil
		s.Deleted = &now
		s.SetStatus(now, cfnstate.DeleteComplete, "")
		txn.Then = append(txn.Then, store.Delete(cfnstate.StackNameKey(s.Region, s.Name)))
		return txn, nil
	})
	if refused != nil {
		o.c.log.WarnContext(ctx, "a stack's deletion left its exports", "stack", o.stack.Name, "reason", refused)
	}
	return err
}

// stackNameOf is the name in a stack's ARN.
func stackNameOf(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) == 3 {
		return parts[1]
	}
	return id
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
