package cloudformation

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/cloudformation/cfnstate"
	"github.com/berth/berth/internal/cloudformation/cfntypes"
	"github.com/berth/berth/internal/cloudformation/provision"
	"github.com/berth/berth/internal/cloudformation/resourcespec"
	"github.com/berth/berth/internal/cloudformation/template"
	"github.com/berth/berth/internal/store"
)

// noChanges is why a change set that changes nothing fails, in
// CloudFormation's words, which `aws cloudformation deploy` looks for.
const noChanges = "The submitted information didn't contain changes. Submit different information to create a change set."

// updatable reports whether a stack's status lets an update start.
func updatable(status string) bool {
	switch status {
	case cfnstate.CreateComplete, cfnstate.UpdateComplete, cfnstate.UpdateRollbackComplete:
		return true
	}
	return false
}

func notUpdatable(s *cfnstate.Stack) error {
	return validation("Stack:%s is in %s state and can not be updated.", s.ID, s.Status)
}

// target is what an update or a change set brings a stack to.
type target struct {
	template     *template.Template
	body         string
	params       []cfnstate.Parameter
	capabilities []string
	tags         []cfnstate.Tag
	// notifications are the stack's notification topics.
	notifications []string
}

// targetOf checks an update's template, parameters and capabilities
// against a stack (nil for a stack not made yet).
func (c *CloudFormation) targetOf(ctx context.Context, s *cfnstate.Stack, region, name, stackID string, body, url *string, usePrevious bool,
	params []cfntypes.Parameter, capabilities []string, tags []cfntypes.Tag, notifications []string) (*target, error) {
	var t *template.Template
	var err error
	text := awsapi.Deref(body)
	switch {
	case usePrevious:
		if s == nil || s.Template == "" {
			return nil, validation("UsePreviousTemplate can only be used with an existing stack") // UNVERIFIED
		}
		if text != "" || awsapi.Deref(url) != "" {
			return nil, validation("You cannot specify both usePreviousTemplate and Template Body/Template URL.") // UNVERIFIED
		}
		text = s.Template
		t, err = template.Parse([]byte(text))
	default:
		t, err = templateBody(body, url)
	}
	if err != nil {
		return nil, err
	}
	if err := checkTypes(t); err != nil {
		return nil, err
	}
	var previous []cfnstate.Parameter
	if s != nil {
		previous = s.Parameters
	}
	checked, err := c.checkParameters(ctx, t, params, previous, template.PseudoParameters{
		Region: region, AccountID: c.account, StackName: name, StackID: stackID})
	if err != nil {
		return nil, err
	}
	if err := checkCapabilities(t, capabilities); err != nil {
		return nil, err
	}
	out := &target{template: t, body: text, params: checked, capabilities: capabilities, tags: stackTags(tags), notifications: notifications}
	if tags == nil && s != nil {
		// Tags left out keep the stack's, as CloudFormation keeps them;
		// so do notification topics.
		out.tags = s.Tags
	}
	if notifications == nil && s != nil {
		out.notifications = s.NotificationARNs
	}
	return out, nil
}

// unchanged reports whether a target is what the stack already is.
func unchanged(s *cfnstate.Stack, t *target) bool {
	return s.Template == t.body && slices.Equal(s.Parameters, t.params) && slices.Equal(s.Tags, t.tags) &&
		slices.Equal(s.NotificationARNs, t.notifications)
}

// startUpdate makes the stack's record ask for an update to t.
func startUpdate(s *cfnstate.Stack, t *target, caller awsapi.Caller, token, changeSetID string, disableRollback *bool, now time.Time) {
	s.Operation = &cfnstate.Operation{
		Template: t.body, Parameters: t.params, ClientRequestToken: token, ChangeSetID: changeSetID, Started: now,
		Previous: &cfnstate.Deployment{Template: s.Template, Parameters: s.Parameters, Description: s.Description,
			Outputs: s.Outputs, Capabilities: s.Capabilities},
	}
	s.Caller = caller
	s.Capabilities, s.Tags, s.NotificationARNs = t.capabilities, t.tags, t.notifications
	s.Description = t.template.Description
	if disableRollback != nil {
		s.DisableRollback = *disableRollback
	}
	s.Pass++
	s.SetStatus(now, cfnstate.UpdateInProgress, "User Initiated")
}

func (c *CloudFormation) updateStack(ctx context.Context, in *cfntypes.UpdateStackInput) (*cfntypes.UpdateStackOutput, error) {
	info := awsapi.RequestFrom(ctx)
	switch {
	case awsapi.Deref(in.StackPolicyBody) != "" || awsapi.Deref(in.StackPolicyURL) != "" ||
		awsapi.Deref(in.StackPolicyDuringUpdateBody) != "" || awsapi.Deref(in.StackPolicyDuringUpdateURL) != "":
		return nil, unsupported("stack policies")
	case in.RollbackConfiguration != nil && len(in.RollbackConfiguration.RollbackTriggers) > 0:
		return nil, unsupported("rollback triggers")
	}
	found, err := c.findStack(ctx, info.Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	s := &found.Value
	if !updatable(s.Status) {
		return nil, notUpdatable(s)
	}
	t, err := c.targetOf(ctx, s, s.Region, s.Name, s.ID, in.TemplateBody, in.TemplateURL, awsapi.Deref(in.UsePreviousTemplate),
		in.Parameters, in.Capabilities, in.Tags, in.NotificationARNs)
	if err != nil {
		return nil, err
	}
	_, err = cfnstate.UpdateStack(ctx, c.store, s.Region, s.UUID, func(s *cfnstate.Stack) ([]store.Op, error) {
		if !updatable(s.Status) {
			return nil, notUpdatable(s)
		}
		if unchanged(s, t) {
			return nil, validation("No updates are to be performed.")
		}
		startUpdate(s, t, info.Caller, awsapi.Deref(in.ClientRequestToken), "", in.DisableRollback, c.now().UTC())
		if in.RoleARN != nil {
			// Left out, the stack keeps the role it has.
			s.RoleARN = *in.RoleARN
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &cfntypes.UpdateStackOutput{StackId: awsapi.String(s.ID)}, nil
}

// changeSetNamePattern is the form of a change set's name.
var changeSetNamePattern = stackNamePattern

func (c *CloudFormation) createChangeSet(ctx context.Context, in *cfntypes.CreateChangeSetInput) (*cfntypes.CreateChangeSetOutput, error) {
	info := awsapi.RequestFrom(ctx)
	name, csName := awsapi.Deref(in.StackName), awsapi.Deref(in.ChangeSetName)
	if !changeSetNamePattern.MatchString(csName) || len(csName) > 128 {
		return nil, validation("1 validation error detected: Value '%s' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", csName)
	}
	switch {
	case len(in.ResourcesToImport) > 0 || awsapi.Deref(in.ImportExistingResources):
		return nil, unsupported("resource import")
	case awsapi.Deref(in.IncludeNestedStacks):
		return nil, unsupported("nested stacks")
	case in.RollbackConfiguration != nil && len(in.RollbackConfiguration.RollbackTriggers) > 0:
		return nil, unsupported("rollback triggers")
	}
	csType := awsapi.Deref(in.ChangeSetType)
	if csType == "" {
		csType = "UPDATE"
	}
	if csType == "IMPORT" {
		return nil, unsupported("resource import")
	}
	found, err := c.findStack(ctx, info.Region, name)
	var s *cfnstate.Stack
	switch {
	case err == nil:
		s = &found.Value
	case !errors.Is(err, errValidation):
		return nil, err
	}
	switch {
	case csType == "CREATE" && s != nil && s.Status != cfnstate.ReviewInProgress:
		return nil, validation("Stack [%s] already exists and cannot be created again with the changeSet [%s].", name, csName)
	case csType == "UPDATE" && s == nil:
		return nil, validation("Stack [%s] does not exist", name)
	case csType == "UPDATE" && !updatable(s.Status):
		return nil, notUpdatable(s)
	}
	stackUUID, stackID := uuid.NewString(), ""
	if s != nil {
		stackUUID, stackID = s.UUID, s.ID
	} else {
		if !stackNamePattern.MatchString(name) || len(name) > 128 {
			return nil, validation("1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", name)
		}
		stackID = cfnstate.ARN(info.Region, c.account, name, stackUUID)
	}
	current := s
	if s != nil && s.Status == cfnstate.ReviewInProgress {
		current = nil // a stack not made yet: nothing to compare with
	}
	t, err := c.targetOf(ctx, current, info.Region, name, stackID, in.TemplateBody, in.TemplateURL,
		awsapi.Deref(in.UsePreviousTemplate), in.Parameters, in.Capabilities, in.Tags, in.NotificationARNs)
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	csUUID := uuid.NewString()
	cs := &cfnstate.ChangeSet{
		Region: info.Region, StackUUID: stackUUID, ID: cfnstate.ChangeSetARN(info.Region, c.account, csName, csUUID), UUID: csUUID,
		Name: csName, Type: csType, Description: awsapi.Deref(in.Description), Created: now,
		Template: t.body, Parameters: t.params, Capabilities: t.capabilities, Tags: t.tags,
		NotificationARNs: t.notifications, RoleARN: awsapi.Deref(in.RoleARN),
		Status: cfnstate.ChangeSetCreateComplete,
	}
	if current != nil {
		cs.StackPass = current.Pass
	}
	cs.Changes, err = c.computeChanges(ctx, current, t, info.Region, name, stackID)
	if err != nil {
		return nil, err
	}
	if current != nil && len(cs.Changes) == 0 && unchanged(current, t) {
		cs.Status, cs.StatusReason = cfnstate.ChangeSetFailed, noChanges
	}
	csOp, err := store.PutJSON(cfnstate.ChangeSetKey(info.Region, stackUUID, csName), cs)
	if err != nil {
		return nil, err
	}
	txn := store.Txn{If: []store.Compare{{Key: cfnstate.ChangeSetKey(info.Region, stackUUID, csName)}}, Then: []store.Op{csOp}}
	if s == nil {
		// The stack a CREATE change set is for exists from now on, in
		// REVIEW_IN_PROGRESS, as CloudFormation shows it.
		review := &cfnstate.Stack{Region: info.Region, UUID: stackUUID, ID: stackID, Name: name, Created: now,
			Description: t.template.Description, Resources: map[string]*cfnstate.Resource{}, Caller: info.Caller, Tags: t.tags}
		review.SetStatus(now, cfnstate.ReviewInProgress, "User Initiated")
		ops, err := review.Ops()
		if err != nil {
			return nil, err
		}
		claim, err := store.PutJSON(cfnstate.StackNameKey(info.Region, name), cfnstate.NameClaim{UUID: stackUUID})
		if err != nil {
			return nil, err
		}
		txn.If = append(txn.If, store.Compare{Key: cfnstate.StackNameKey(info.Region, name)})
		txn.Then = append(txn.Then, append(ops, claim)...)
	} else {
		// Guarded by the stack as read: an update started meanwhile
		// would make the changes stale.
		txn.If = append(txn.If, store.Compare{Key: cfnstate.StackKey(s.Region, s.UUID), ModRevision: found.ModRevision})
	}
	if _, err := c.store.Txn(ctx, txn); err != nil {
		if errors.Is(err, store.ErrConflict) {
			if _, gerr := store.Get[cfnstate.ChangeSet](ctx, c.store, cfnstate.ChangeSetKey(info.Region, stackUUID, csName)); gerr == nil {
				return nil, awsapi.WithMessage(errAlreadyExists, "ChangeSet %s already exists for stack %s", csName, name) // UNVERIFIED
			}
			return nil, validation("Stack [%s] changed while the change set was being created; create it again.", name) // UNVERIFIED
		}
		return nil, err
	}
	return &cfntypes.CreateChangeSetOutput{Id: awsapi.String(cs.ID), StackId: awsapi.String(stackID)}, nil
}

// unknown stands for a value known only once a change set runs (the
// Ref of a resource not made yet, or to be replaced).
const unknownPrefix = "\x00unknown:"

// changeResolver gives a change set's evaluation the stack's values, and
// unknown ones for what the change set makes anew.
type changeResolver struct {
	ctx   context.Context
	c     *CloudFormation
	stack *cfnstate.Stack
	fresh map[string]bool // added or replaced by the change set
}

func (r changeResolver) Ref(id string) (any, error) {
	res := r.resource(id)
	if res == nil {
		return unknownPrefix + id, nil
	}
	return res.PhysicalID, nil
}

func (r changeResolver) GetAtt(id, attr string) (any, error) {
	res := r.resource(id)
	if res == nil {
		return unknownPrefix + id, nil
	}
	if v, ok := res.Attributes[attr]; ok {
		return v, nil
	}
	return unknownPrefix + id, nil
}

func (r changeResolver) resource(id string) *cfnstate.Resource {
	if r.stack == nil || r.fresh[id] {
		return nil
	}
	if res := r.stack.Resources[id]; res != nil && res.PhysicalID != "" {
		return res
	}
	return nil
}

func (r changeResolver) GetAZs(region string) ([]string, error) {
	return provision.AvailabilityZones(r.ctx, r.c.api, region)
}

func (r changeResolver) ImportValue(name string) (string, error) {
	value, found, err := cfnstate.ExportValue(r.ctx, r.c.store, awsapi.RequestFrom(r.ctx).Region, name)
	if err == nil && !found {
		err = validation("No export named %s found.", name)
	}
	return value, err
}

// computeChanges is what bringing a stack (nil: not made yet) to a
// target changes, resource by resource, in the order the resources would
// be handled.
func (c *CloudFormation) computeChanges(ctx context.Context, s *cfnstate.Stack, t *target, region, name, stackID string) ([]cfnstate.Change, error) {
	scope, err := cfnstate.Scope(t.template, t.params, template.PseudoParameters{Region: region, AccountID: c.account, StackName: name, StackID: stackID})
	if err != nil {
		return nil, err
	}
	waves, err := scope.CreationWaves()
	if err != nil {
		return nil, err
	}
	r := changeResolver{ctx: ctx, c: c, stack: s, fresh: map[string]bool{}}
	changedParams := map[string]bool{}
	for _, p := range t.params {
		if s == nil || !slices.Contains(s.Parameters, p) {
			changedParams[p.Key] = true
		}
	}
	changes := []cfnstate.Change{}
	for _, wave := range waves {
		for _, id := range wave {
			tr, _ := t.template.Resource(id)
			cur := r.resource(id)
			if s != nil && s.Resources[id] != nil && s.Resources[id].PhysicalID != "" {
				cur = s.Resources[id]
			}
			if cur == nil || cur.Type != tr.Type {
				r.fresh[id] = true
				changes = append(changes, cfnstate.Change{Action: "Add", LogicalID: id, ResourceType: tr.Type, Details: []cfnstate.ChangeDetail{}})
				continue
			}
			change, replaced, err := modification(scope, r, tr, cur, changedParams)
			if err != nil {
				return nil, err
			}
			if change != nil {
				changes = append(changes, *change)
			}
			if replaced {
				r.fresh[id] = true
			}
		}
	}
	if s != nil {
		for _, id := range sortedResourceIDs(s) {
			res := s.Resources[id]
			if !scope.Active(id) && res.Status != "" {
				changes = append(changes, cfnstate.Change{Action: "Remove", LogicalID: id, PhysicalID: res.PhysicalID,
					ResourceType: res.Type, Details: []cfnstate.ChangeDetail{}})
			}
		}
	}
	return changes, nil
}

func sortedResourceIDs(s *cfnstate.Stack) []string {
	ids := make([]string, 0, len(s.Resources))
	for id := range s.Resources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// modification is an existing resource's change, nil when none, and
// whether it replaces the resource.
func modification(scope *template.Scope, r changeResolver, tr *template.Resource, cur *cfnstate.Resource, changedParams map[string]bool) (*cfnstate.Change, bool, error) {
	evaluated, err := scope.Evaluate(tr.Properties, r)
	if err != nil {
		return nil, false, err
	}
	props, _ := evaluated.(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	spec, ok := resourcespec.Lookup(tr.Type)
	if !ok {
		return nil, false, nil // a type berth does not provision: the execution fails it
	}
	if norm, err := spec.Normalize(props); err == nil {
		props = norm
	}
	d := spec.Diff(cur.Properties, props)
	policyChanged := cur.DeletionPolicy != tr.DeletionPolicy || cur.UpdateReplacePolicy != tr.UpdateReplacePolicy
	if len(d.Changed) == 0 && !policyChanged {
		return nil, false, nil
	}
	change := &cfnstate.Change{Action: "Modify", LogicalID: tr.LogicalID, PhysicalID: cur.PhysicalID, ResourceType: tr.Type,
		Replacement: string(d.Replacement), Details: []cfnstate.ChangeDetail{}}
	for _, p := range d.Changed {
		if !slices.Contains(change.Scope, p.Attribute) {
			change.Scope = append(change.Scope, p.Attribute)
		}
		detail := cfnstate.ChangeDetail{Attribute: p.Attribute, Name: p.Name, RequiresRecreation: string(p.RequiresRecreation),
			Evaluation: "Static", ChangeSource: "DirectModification"}
		if param := changedParameter(tr.Properties[p.Name], changedParams); param != "" {
			detail.ChangeSource, detail.CausingEntity = "ParameterReference", param
		}
		if raw, _ := json.Marshal(props[p.Name]); strings.Contains(string(raw), `\u0000unknown:`) {
			detail.Evaluation, detail.ChangeSource = "Dynamic", "ResourceReference"
			_, after, _ := strings.Cut(string(raw), `\u0000unknown:`)
			detail.CausingEntity, _, _ = strings.Cut(after, `"`)
		}
		if p.Attribute == resourcespec.AttributeTags {
			detail.Name = ""
		}
		change.Details = append(change.Details, detail)
	}
	return change, d.Replace, nil
}

// findChangeSet finds a change set by ARN, or by name with its stack.
func (c *CloudFormation) findChangeSet(ctx context.Context, region, csName, stackName string) (*cfnstate.ChangeSet, *cfnstate.Stack, error) {
	notFound := awsapi.WithMessage(errChangeSetNotFound, "ChangeSet [%s] does not exist", csName)
	if strings.HasPrefix(csName, "arn:") {
		parts := strings.Split(csName, "/")
		region = awsapi.ARNRegion(csName, region)
		var found *cfnstate.ChangeSet
		_, err := c.store.Range(ctx, cfnstate.RegionPrefix(cfnstate.ChangeSetPrefix, region), func(kv store.KV) error {
			if !strings.Contains(string(kv.Value), parts[len(parts)-1]) {
				return nil
			}
			var cs cfnstate.ChangeSet
			if err := json.Unmarshal(kv.Value, &cs); err != nil {
				return err
			}
			if cs.ID == csName {
				found = &cs
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if found == nil {
			return nil, nil, notFound
		}
		s, err := store.Get[cfnstate.Stack](ctx, c.store, cfnstate.StackKey(region, found.StackUUID))
		if err != nil {
			return nil, nil, err
		}
		return found, &s.Value, nil
	}
	if stackName == "" {
		return nil, nil, validation("StackName must be specified if ChangeSetName is not specified as an ARN.")
	}
	s, err := c.findStack(ctx, region, stackName)
	if err != nil {
		return nil, nil, err
	}
	cs, err := store.Get[cfnstate.ChangeSet](ctx, c.store, cfnstate.ChangeSetKey(s.Value.Region, s.Value.UUID, csName))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, err
	}
	return &cs.Value, &s.Value, nil
}

// executionStatus is a change set's execution status as the stack now
// makes it.
func executionStatus(cs *cfnstate.ChangeSet, s *cfnstate.Stack) string {
	switch {
	case cs.Executed && s.Operation != nil && s.Operation.ChangeSetID == cs.ID:
		return cfnstate.ExecutionInProgress
	case cs.Executed && (strings.Contains(s.Status, "ROLLBACK") || strings.HasSuffix(s.Status, "_FAILED")):
		return cfnstate.ExecutionFailed
	case cs.Executed:
		return cfnstate.ExecutionComplete
	case cs.Status != cfnstate.ChangeSetCreateComplete:
		return cfnstate.ExecutionUnavailable
	case cs.Type == "UPDATE" && cs.StackPass != s.Pass:
		return cfnstate.ExecutionObsolete
	}
	return cfnstate.ExecutionAvailable
}

func (c *CloudFormation) describeChangeSet(ctx context.Context, in *cfntypes.DescribeChangeSetInput) (*cfntypes.DescribeChangeSetOutput, error) {
	cs, s, err := c.findChangeSet(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.ChangeSetName), awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	out := &cfntypes.DescribeChangeSetOutput{
		ChangeSetName: awsapi.String(cs.Name), ChangeSetId: awsapi.String(cs.ID), StackId: awsapi.String(s.ID),
		StackName: awsapi.String(s.Name), Description: awsapi.OptionalString(cs.Description),
		CreationTime: awsapi.Time(cs.Created), ExecutionStatus: awsapi.String(executionStatus(cs, s)),
		Status: awsapi.String(cs.Status), StatusReason: awsapi.OptionalString(cs.StatusReason),
		NotificationARNs: orEmpty(cs.NotificationARNs), Capabilities: cs.Capabilities,
		RollbackConfiguration: &cfntypes.RollbackConfiguration{}, Tags: []cfntypes.Tag{}, Changes: []cfntypes.Change{},
		IncludeNestedStacks: awsapi.Bool(false),
	}
	for _, p := range cs.Parameters {
		out.Parameters = append(out.Parameters, describeParameter(p))
	}
	for _, t := range cs.Tags {
		out.Tags = append(out.Tags, cfntypes.Tag{Key: awsapi.String(t.Key), Value: awsapi.String(t.Value)})
	}
	for _, ch := range cs.Changes {
		rc := &cfntypes.ResourceChange{Action: awsapi.String(ch.Action), LogicalResourceId: awsapi.String(ch.LogicalID),
			PhysicalResourceId: awsapi.OptionalString(ch.PhysicalID), ResourceType: awsapi.String(ch.ResourceType),
			Replacement: awsapi.OptionalString(ch.Replacement), Scope: orEmpty(ch.Scope), Details: []cfntypes.ResourceChangeDetail{}}
		for _, d := range ch.Details {
			rc.Details = append(rc.Details, cfntypes.ResourceChangeDetail{
				Target: &cfntypes.ResourceTargetDefinition{Attribute: awsapi.String(d.Attribute), Name: awsapi.OptionalString(d.Name),
					RequiresRecreation: awsapi.OptionalString(d.RequiresRecreation)},
				Evaluation: awsapi.String(d.Evaluation), ChangeSource: awsapi.String(d.ChangeSource),
				CausingEntity: awsapi.OptionalString(d.CausingEntity),
			})
		}
		out.Changes = append(out.Changes, cfntypes.Change{Type: awsapi.String("Resource"), ResourceChange: rc})
	}
	return out, nil
}

func (c *CloudFormation) listChangeSets(ctx context.Context, in *cfntypes.ListChangeSetsInput) (*cfntypes.ListChangeSetsOutput, error) {
	found, err := c.findStack(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	s := &found.Value
	records, _, err := store.List[cfnstate.ChangeSet](ctx, c.store, cfnstate.StackChangeSetsPrefix(s.Region, s.UUID), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(records, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &cfntypes.ListChangeSetsOutput{Summaries: []cfntypes.ChangeSetSummary{}, NextToken: next}
	for _, r := range page {
		cs := &r.Value
		out.Summaries = append(out.Summaries, cfntypes.ChangeSetSummary{
			StackId: awsapi.String(s.ID), StackName: awsapi.String(s.Name), ChangeSetId: awsapi.String(cs.ID),
			ChangeSetName: awsapi.String(cs.Name), ExecutionStatus: awsapi.String(executionStatus(cs, s)),
			Status: awsapi.String(cs.Status), StatusReason: awsapi.OptionalString(cs.StatusReason),
			CreationTime: awsapi.Time(cs.Created), Description: awsapi.OptionalString(cs.Description),
			IncludeNestedStacks: awsapi.Bool(false),
		})
	}
	return out, nil
}

func (c *CloudFormation) deleteChangeSet(ctx context.Context, in *cfntypes.DeleteChangeSetInput) (*cfntypes.DeleteChangeSetOutput, error) {
	cs, s, err := c.findChangeSet(ctx, awsapi.RequestFrom(ctx).Region, awsapi.Deref(in.ChangeSetName), awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	if executionStatus(cs, s) == cfnstate.ExecutionInProgress {
		return nil, awsapi.WithMessage(errInvalidChangeSetStatus, "Cannot delete ChangeSet %s in status EXECUTE_IN_PROGRESS", cs.ID) // UNVERIFIED
	}
	if _, err := c.store.Txn(ctx, store.Txn{Then: []store.Op{store.Delete(cfnstate.ChangeSetKey(cs.Region, cs.StackUUID, cs.Name))}}); err != nil {
		return nil, err
	}
	return &cfntypes.DeleteChangeSetOutput{}, nil
}

func (c *CloudFormation) executeChangeSet(ctx context.Context, in *cfntypes.ExecuteChangeSetInput) (*cfntypes.ExecuteChangeSetOutput, error) {
	info := awsapi.RequestFrom(ctx)
	cs, s, err := c.findChangeSet(ctx, info.Region, awsapi.Deref(in.ChangeSetName), awsapi.Deref(in.StackName))
	if err != nil {
		return nil, err
	}
	if status := executionStatus(cs, s); status != cfnstate.ExecutionAvailable {
		return nil, awsapi.WithMessage(errInvalidChangeSetStatus, "ChangeSet [%s] cannot be executed in its current execution status of [%s]", cs.ID, status)
	}
	t, err := template.Parse([]byte(cs.Template))
	if err != nil {
		return nil, err
	}
	target := &target{template: t, body: cs.Template, params: cs.Parameters, capabilities: cs.Capabilities, tags: cs.Tags,
		notifications: cs.NotificationARNs}
	now := c.now().UTC()
	others, _, err := store.List[cfnstate.ChangeSet](ctx, c.store, cfnstate.StackChangeSetsPrefix(s.Region, s.UUID), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	executed := *cs
	executed.Executed = true
	_, err = cfnstate.UpdateStack(ctx, c.store, s.Region, s.UUID, func(s *cfnstate.Stack) ([]store.Op, error) {
		switch {
		case cs.Type == "CREATE" && s.Status != cfnstate.ReviewInProgress,
			cs.Type == "UPDATE" && (!updatable(s.Status) || s.Pass != cs.StackPass):
			return nil, awsapi.WithMessage(errInvalidChangeSetStatus, "ChangeSet [%s] cannot be executed in its current execution status of [%s]", cs.ID, cfnstate.ExecutionObsolete)
		}
		if cs.Type == "CREATE" {
			s.Template, s.Parameters, s.Capabilities, s.Tags = target.body, target.params, target.capabilities, target.tags
			s.NotificationARNs, s.RoleARN = cs.NotificationARNs, cs.RoleARN
			s.Description = t.Description
			s.DisableRollback = awsapi.Deref(in.DisableRollback)
			s.Caller = info.Caller
			s.Pass++
			s.Operation = &cfnstate.Operation{Template: target.body, Parameters: target.params,
				ClientRequestToken: awsapi.Deref(in.ClientRequestToken), ChangeSetID: cs.ID, Started: now}
			s.SetStatus(now, cfnstate.CreateInProgress, "User Initiated")
		} else {
			startUpdate(s, target, info.Caller, awsapi.Deref(in.ClientRequestToken), cs.ID, in.DisableRollback, now)
			if cs.RoleARN != "" {
				s.RoleARN = cs.RoleARN
			}
		}
		// The stack's other change sets no longer apply: CloudFormation
		// deletes them.
		var ops []store.Op
		for _, other := range others {
			if other.Value.Name != cs.Name {
				ops = append(ops, store.Delete(cfnstate.ChangeSetKey(s.Region, s.UUID, other.Value.Name)))
			}
		}
		op, err := store.PutJSON(cfnstate.ChangeSetKey(s.Region, s.UUID, cs.Name), executed)
		if err != nil {
			return nil, err
		}
		return append(ops, op), nil
	})
	if err != nil {
		return nil, err
	}
	return &cfntypes.ExecuteChangeSetOutput{}, nil
}

// changedParameter is a parameter whose value changed that a template
// value refers to with Ref, "" for none: the change's source.
func changedParameter(v any, changed map[string]bool) string {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok && len(x) == 1 && changed[ref] {
			return ref
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if p := changedParameter(x[k], changed); p != "" {
				return p
			}
		}
	case []any:
		for _, item := range x {
			if p := changedParameter(item, changed); p != "" {
				return p
			}
		}
	}
	return ""
}
