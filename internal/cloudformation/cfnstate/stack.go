package cfnstate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/store"
)

// Stack statuses, as CloudFormation names them.
const (
	CreateInProgress                        = "CREATE_IN_PROGRESS"
	CreateFailed                            = "CREATE_FAILED"
	CreateComplete                          = "CREATE_COMPLETE"
	RollbackInProgress                      = "ROLLBACK_IN_PROGRESS"
	RollbackFailed                          = "ROLLBACK_FAILED"
	RollbackComplete                        = "ROLLBACK_COMPLETE"
	DeleteInProgress                        = "DELETE_IN_PROGRESS"
	DeleteFailed                            = "DELETE_FAILED"
	DeleteComplete                          = "DELETE_COMPLETE"
	UpdateInProgress                        = "UPDATE_IN_PROGRESS"
	UpdateCompleteCleanupInProgress         = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
	UpdateComplete                          = "UPDATE_COMPLETE"
	UpdateFailed                            = "UPDATE_FAILED"
	UpdateRollbackInProgress                = "UPDATE_ROLLBACK_IN_PROGRESS"
	UpdateRollbackFailed                    = "UPDATE_ROLLBACK_FAILED"
	UpdateRollbackCompleteCleanupInProgress = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
	UpdateRollbackComplete                  = "UPDATE_ROLLBACK_COMPLETE"
	ReviewInProgress                        = "REVIEW_IN_PROGRESS"
)

// Resource statuses beyond the stack's (a resource is also *_IN_PROGRESS,
// *_COMPLETE or *_FAILED for CREATE, UPDATE and DELETE).
const (
	DeleteSkipped = "DELETE_SKIPPED"
)

// StackType is the resource type stack events give the stack itself.
const StackType = "AWS::CloudFormation::Stack"

// InProgress reports whether a status is one an operation is under way in.
func InProgress(status string) bool { return strings.HasSuffix(status, "_IN_PROGRESS") }

// Stack is one stack: its template and parameters in effect, its
// resources, and the operation under way if any.
type Stack struct {
	Region string
	// UUID is the stack id's last part; ID the stack's ARN.
	UUID, ID, Name string
	Status         string
	StatusReason   string `json:",omitempty"`
	Description    string `json:",omitempty"`
	Created        time.Time
	LastUpdated    *time.Time `json:",omitempty"`
	Deleted        *time.Time `json:",omitempty"`

	// Template is the template body in effect; Parameters its values.
	Template     string
	Parameters   []Parameter
	Capabilities []string `json:",omitempty"`
	Tags         []Tag    `json:",omitempty"`
	// NotificationARNs are kept and shown; berth sends no notifications.
	NotificationARNs      []string `json:",omitempty"`
	RoleARN               string   `json:",omitempty"`
	DisableRollback       bool     `json:",omitempty"`
	TimeoutInMinutes      int      `json:",omitempty"`
	TerminationProtection bool     `json:",omitempty"`
	Outputs               []Output `json:",omitempty"`

	// Resources by logical id.
	Resources map[string]*Resource
	// Caller is who started the latest operation: the stack's resources
	// are made with that caller's permissions, as CloudFormation makes
	// them with the credentials of the call.
	Caller awsapi.Caller
	// Operation is the operation under way; nil when none is.
	Operation *Operation `json:",omitempty"`
	// NextEvent numbers the stack's next event.
	NextEvent int
	// Imports are the exports the stack's template imports
	// (Fn::ImportValue), as of its last completed pass.
	Imports []string `json:",omitempty"`
	// Pass numbers the stack's passes over its template: each create,
	// update and update rollback is one, and a resource records the pass
	// that last brought it to the template (Resource.Pass).
	Pass int

	// pending are the events Record added, written with the stack by
	// Put or UpdateStack.
	pending []Event
}

// Parameter is one parameter's value in a stack.
type Parameter struct {
	Key   string
	Value string
	// ResolvedValue is an SSM parameter type's value.
	ResolvedValue string `json:",omitempty"`
	NoEcho        bool   `json:",omitempty"`
}

// Tag is a stack tag, which CloudFormation also gives every resource that
// takes tags.
type Tag struct{ Key, Value string }

// Output is an evaluated output.
type Output struct {
	Key, Value  string
	Description string `json:",omitempty"`
	ExportName  string `json:",omitempty"`
}

// Operation is what a stack is being brought to.
type Operation struct {
	// Template and Parameters are the target of a create or an update.
	Template   string      `json:",omitempty"`
	Parameters []Parameter `json:",omitempty"`
	// Previous is what an update rolls back to.
	Previous *Deployment `json:",omitempty"`
	// RetainResources are the logical ids a deletion leaves in place.
	RetainResources    []string `json:",omitempty"`
	ClientRequestToken string   `json:",omitempty"`
	// ChangeSetID is the change set being executed, if any.
	ChangeSetID string `json:",omitempty"`
	Started     time.Time
}

// Deployment is a template with its parameters, as an update found them.
type Deployment struct {
	Template     string
	Parameters   []Parameter
	Description  string   `json:",omitempty"`
	Outputs      []Output `json:",omitempty"`
	Capabilities []string `json:",omitempty"`
}

// Resource is one of a stack's resources.
type Resource struct {
	LogicalID    string
	Type         string
	PhysicalID   string `json:",omitempty"`
	Status       string `json:",omitempty"`
	StatusReason string `json:",omitempty"`
	// Properties are the resource's properties as last applied, evaluated
	// and normalized against the type's schema.
	Properties Values `json:",omitempty"`
	// Attributes are its Fn::GetAtt values.
	Attributes Values `json:",omitempty"`
	// Settling marks a resource the service accepted that is not yet
	// ready (a service reaching its steady state).
	Settling bool `json:",omitempty"`
	// SettleToken is what the provisioner's settled check waits for (an
	// ECS deployment's id).
	SettleToken string `json:",omitempty"`
	// Pass is the stack pass that last brought the resource to its
	// template (Stack.Pass).
	Pass                int    `json:",omitempty"`
	DeletionPolicy      string `json:",omitempty"`
	UpdateReplacePolicy string `json:",omitempty"`
	Metadata            string `json:",omitempty"`
	Updated             time.Time
	// PlannedName is the name a create under way gives the resource (or
	// its replacement, when Replacing): after a restart, what to look for
	// to learn whether the create happened.
	PlannedName string `json:",omitempty"`
	Replacing   bool   `json:",omitempty"`
	// Attempted are the properties an in-place update failed to apply,
	// perhaps in part: the rollback changes the resource from them.
	Attempted Values `json:",omitempty"`
	// Replaced is the resource an update replaced, deleted in the
	// cleanup phase (or kept, by its UpdateReplacePolicy); a rollback
	// deletes the replacement and restores it.
	Replaced *Resource `json:",omitempty"`
}

// Event is one stack event.
type Event struct {
	StackID, StackName string
	EventID            string
	LogicalID          string
	PhysicalID         string `json:",omitempty"`
	ResourceType       string
	Status             string
	Reason             string `json:",omitempty"`
	Properties         string `json:",omitempty"`
	ClientRequestToken string `json:",omitempty"`
	Timestamp          time.Time
}

// ARN is a stack's id.
func ARN(region, account, name, uuid string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", region, account, name, uuid)
}

// Record adds an event for the stack itself (r nil) or a resource (one
// of the stack's, or an instance an update replaced), written with the
// stack's next write.
func (s *Stack) Record(now time.Time, r *Resource, status, reason string) {
	e := Event{StackID: s.ID, StackName: s.Name, Status: status, Reason: reason, Timestamp: now,
		LogicalID: s.Name, PhysicalID: s.ID, ResourceType: StackType}
	if s.Operation != nil {
		e.ClientRequestToken = s.Operation.ClientRequestToken
	}
	if r == nil {
		e.EventID = fmt.Sprintf("%s-%d", s.UUID, s.NextEvent)
	} else {
		e.LogicalID, e.ResourceType, e.PhysicalID = r.LogicalID, r.Type, r.PhysicalID
		e.EventID = fmt.Sprintf("%s-%s-%s", r.LogicalID, status, now.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	s.pending = append(s.pending, e)
}

// SetStatus changes the stack's status and records the event.
func (s *Stack) SetStatus(now time.Time, status, reason string) {
	s.Status, s.StatusReason = status, reason
	s.Record(now, nil, status, reason)
}

// SetResourceStatus changes a resource's status and records the event.
func (s *Stack) SetResourceStatus(now time.Time, logicalID, status, reason string) {
	r := s.Resources[logicalID]
	r.Status, r.StatusReason, r.Updated = status, reason, now
	s.Record(now, r, status, reason)
}

// Ops are the writes of the stack and its pending events; the events are
// numbered as they are written.
func (s *Stack) Ops() ([]store.Op, error) {
	var ops []store.Op
	for _, e := range s.pending {
		op, err := store.PutJSON(EventKey(s.Region, s.UUID, s.NextEvent), e)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
		s.NextEvent++
	}
	s.pending = nil
	op, err := store.PutJSON(StackKey(s.Region, s.UUID), s)
	if err != nil {
		return nil, err
	}
	return append(ops, op), nil
}

// ErrStackNotFound is a stack id or name that names no stack.
var ErrStackNotFound = errors.New("stack not found")

// UpdateStack reads a stack, applies change and writes it back with the
// events change recorded, guarded by the revision read; it retries a lost
// race (store.Retry). change may return store.ErrUnchanged to write
// nothing, or more writes to make in the same transaction.
func UpdateStack(ctx context.Context, st store.Store, region, uuid string, change func(s *Stack) ([]store.Op, error)) (*Stack, error) {
	return UpdateStackTxn(ctx, st, region, uuid, func(s *Stack) (store.Txn, error) {
		ops, err := change(s)
		return store.Txn{Then: ops}, err
	})
}

// UpdateStackTxn is UpdateStack for a change that also guards its extra
// writes with revisions of its own (the exports it read).
func UpdateStackTxn(ctx context.Context, st store.Store, region, uuid string, change func(s *Stack) (store.Txn, error)) (*Stack, error) {
	var out *Stack
	err := store.Retry(ctx, func() error {
		cur, err := store.Get[Stack](ctx, st, StackKey(region, uuid))
		if errors.Is(err, store.ErrNotFound) {
			return ErrStackNotFound
		}
		if err != nil {
			return err
		}
		s := cur.Value
		extra, err := change(&s)
		if errors.Is(err, store.ErrUnchanged) {
			out = &s
			return nil
		}
		if err != nil {
			return err
		}
		ops, err := s.Ops()
		if err != nil {
			return err
		}
		if _, err := st.Txn(ctx, store.Txn{
			If:   append([]store.Compare{{Key: StackKey(region, uuid), ModRevision: cur.ModRevision}}, extra.If...),
			Then: append(ops, extra.Then...),
		}); err != nil {
			return err
		}
		out = &s
		return nil
	})
	return out, err
}

// NameClaim is the live stack a name refers to.
type NameClaim struct{ UUID string }

// Export is an output another stack can import.
type Export struct {
	Name, Value string
	StackID     string
	// Importers are the stacks that import it, by id.
	Importers []string `json:",omitempty"`
}

// Values are property or attribute values as templates give them: read
// back with numbers as json.Number, as they were written, so a stored
// resource's properties compare equal to freshly evaluated ones and
// reach the APIs with their number text.
type Values map[string]any

// MarshalJSON writes numbers as numbers: the store's JSON encoder would
// write a json.Number, which it does not know, as a string.
func (v Values) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]any(v)) }

// UnmarshalJSON keeps numbers as json.Number.
func (v *Values) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return err
	}
	*v = m
	return nil
}

// ExportValue is the value exported under name in a region (Fn::ImportValue);
// found is false when no stack exports it.
func ExportValue(ctx context.Context, st store.Store, region, name string) (value string, found bool, err error) {
	exp, err := store.Get[Export](ctx, st, ExportKey(region, name))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return exp.Value.Value, true, nil
}
