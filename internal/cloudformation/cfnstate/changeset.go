package cfnstate

import (
	"fmt"
	"time"
)

// Change set statuses and execution statuses.
const (
	ChangeSetCreateComplete = "CREATE_COMPLETE"
	ChangeSetFailed         = "FAILED"

	ExecutionUnavailable = "UNAVAILABLE"
	ExecutionAvailable   = "AVAILABLE"
	ExecutionInProgress  = "EXECUTE_IN_PROGRESS"
	ExecutionComplete    = "EXECUTE_COMPLETE"
	ExecutionFailed      = "EXECUTE_FAILED"
	ExecutionObsolete    = "OBSOLETE"
)

// ChangeSet is a change set: a template and parameters for a stack, with
// the changes they would make, computed when it was created.
type ChangeSet struct {
	Region, StackUUID string
	// ID is the change set's ARN; UUID its last part.
	ID, UUID, Name string
	// Type is CREATE (for a stack in REVIEW_IN_PROGRESS) or UPDATE.
	Type         string
	Description  string `json:",omitempty"`
	Status       string
	StatusReason string `json:",omitempty"`
	Created      time.Time

	Template         string
	Parameters       []Parameter
	Capabilities     []string `json:",omitempty"`
	Tags             []Tag    `json:",omitempty"`
	NotificationARNs []string `json:",omitempty"`
	RoleARN          string   `json:",omitempty"`
	Changes          []Change `json:",omitempty"`
	// StackPass is the stack's pass the changes were computed against: a
	// change set of an earlier pass is obsolete.
	StackPass int
	// Executed marks a change set that was executed.
	Executed bool `json:",omitempty"`
}

// Change is one resource's change.
type Change struct {
	Action       string // Add, Modify, Remove
	LogicalID    string
	PhysicalID   string `json:",omitempty"`
	ResourceType string
	// Replacement is True, False or Conditional for a Modify.
	Replacement string   `json:",omitempty"`
	Scope       []string `json:",omitempty"`
	Details     []ChangeDetail
}

// ChangeDetail is one property's change.
type ChangeDetail struct {
	Attribute          string // Properties, Tags
	Name               string `json:",omitempty"`
	RequiresRecreation string `json:",omitempty"`
	Evaluation         string // Static, Dynamic
	ChangeSource       string // DirectModification, ResourceReference, ParameterReference
	CausingEntity      string `json:",omitempty"`
}

// ChangeSetARN is a change set's id.
func ChangeSetARN(region, account, name, uuid string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%s", region, account, name, uuid)
}
