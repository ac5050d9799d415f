// Package provision makes, changes and deletes the resources of
// CloudFormation stacks. Each resource type's provisioner turns the
// resource's properties (evaluated and checked against the type's schema)
// into calls of the AWS API the resource lives in, made through an
// Invoker: berth's own APIs, with the same validation, authorization and
// handlers as a client's calls, so a stack's resource is made by the one
// implementation its API has. Ref and Fn::GetAtt values are the ones
// CloudFormation documents for each type.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/berth/berth/internal/awsapi"
)

// Invoker makes an AWS API call from inside berth as the caller in ctx
// (gateway.Gateway.Invoke): service is the API model's name, input the
// call's input by the model's member names. The output is the handler's
// typed output; an error from the service is an *awsapi.Error.
type Invoker interface {
	Invoke(ctx context.Context, service, operation string, input map[string]any) (any, error)
}

// Stack is what a resource knows of the stack it belongs to.
type Stack struct {
	Name, ID, Region, Account string
	// Tags are the stack's tags, which every resource that takes tags
	// gets too.
	Tags map[string]string
}

// Request is one operation on one resource.
type Request struct {
	Stack     Stack
	LogicalID string
	Type      string
	// Properties are the resource's properties: the new ones for a
	// create or an update, those in effect for a delete.
	Properties map[string]any
	// Previous are the properties an update changes from.
	Previous map[string]any
	// PhysicalID and Attributes are the resource's, once made.
	PhysicalID string
	Attributes map[string]any
	// PlannedName is the name a create gives a resource whose template
	// names none (Provisioner.PlannedName).
	PlannedName string
	// Token is the settling change's Result.Token, for Settled.
	Token string
}

// Result is a resource as made or changed.
type Result struct {
	// PhysicalID is the resource's physical id, which is also its Ref
	// value.
	PhysicalID string
	// Attributes are its Fn::GetAtt values.
	Attributes map[string]any
	// Settling says the service took the change but the resource is not
	// ready yet: Settled decides when it is.
	Settling bool
	// Token is what Settled needs to know which change it waits for (an
	// ECS deployment's id); the caller keeps it and passes it back in
	// Request.Token.
	Token string
}

// Provisioner is one resource type's create, update and delete.
type Provisioner struct {
	Create func(ctx context.Context, c *Call) (Result, error)
	// Update changes the resource in place. It is called only for
	// changes the schema does not say need a replacement; nil means
	// the type cannot change in place, so every change replaces it.
	Update func(ctx context.Context, c *Call) (Result, error)
	// Delete deletes the resource; one that is already gone is deleted.
	Delete func(ctx context.Context, c *Call) error
	// Settled reports whether a resource left Settling is ready; an
	// error fails it. nil: a resource is ready once made.
	Settled func(ctx context.Context, c *Call) (bool, error)
	// NameProperty is the property that names the resource, if a name
	// must be unique: a replacement of a resource the template names
	// cannot be made while the old one holds the name.
	NameProperty string
	// NameLength is the longest name the type takes, for the names
	// CloudFormation makes up (PhysicalName).
	NameLength int
	// Find looks the resource up by its name (Request.PlannedName or the
	// NameProperty): after a restart in the middle of a create, whether
	// the create happened. nil: the type cannot be found by name.
	Find func(ctx context.Context, c *Call) (Result, bool, error)
}

// PlannedName is the name a create will give the resource: the name
// property's value, else one made up (PhysicalName). The caller records
// it before the create so that a create interrupted by a restart can be
// looked for (Provisioner.Find); "" for a type without a name.
func (p *Provisioner) PlannedName(stackName, logicalID string, props map[string]any) string {
	if p.NameProperty == "" {
		return ""
	}
	if s, ok := props[p.NameProperty].(string); ok && s != "" {
		return s
	}
	return PhysicalName(stackName, logicalID, p.NameLength)
}

// For returns the provisioner of a resource type, or false for a type
// berth does not provision.
func For(resourceType string) (*Provisioner, bool) {
	p, ok := provisioners[resourceType]
	return p, ok
}

// Types lists the resource types berth provisions.
func Types() []string {
	out := make([]string, 0, len(provisioners))
	for t := range provisioners {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

var provisioners = map[string]*Provisioner{}

func register(resourceType string, p *Provisioner) { provisioners[resourceType] = p }

// Call is one request to a provisioner, with the helpers it uses.
type Call struct {
	Request
	api Invoker
}

// NewCall prepares a request for a provisioner.
func NewCall(api Invoker, r Request) *Call { return &Call{Request: r, api: api} }

// invoke calls an AWS API and returns its output as a tree (the output
// struct's JSON: the model's member names).
func (c *Call) invoke(ctx context.Context, service, operation string, input map[string]any) (map[string]any, error) {
	out, err := c.api.Invoke(ctx, service, operation, input)
	if err != nil {
		return nil, err
	}
	tree := map[string]any{}
	if out == nil {
		return tree, nil
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("provision: %s %s output: %w", service, operation, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("provision: %s %s output: %w", service, operation, err)
	}
	return tree, nil
}

// Failure is a resource's failure in CloudFormation's own words, which
// its event shows as written.
type Failure string

func (f Failure) Error() string { return string(f) }

// AvailabilityZones is Fn::GetAZs: the names of a region's Availability
// Zones as EC2 lists them to the caller in ctx; region "" is the
// caller's region.
func AvailabilityZones(ctx context.Context, api Invoker, region string) ([]string, error) {
	if region != "" {
		info := *awsapi.RequestFrom(ctx)
		info.Region = region
		ctx = awsapi.WithRequest(ctx, &info)
	}
	out, err := api.Invoke(ctx, "ec2", "DescribeAvailabilityZones", nil)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var zones struct {
		AvailabilityZones []struct {
			ZoneName string `json:"zoneName"`
		} `json:"availabilityZoneInfo"`
	}
	if err := json.Unmarshal(raw, &zones); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(zones.AvailabilityZones))
	for _, z := range zones.AvailabilityZones {
		names = append(names, z.ZoneName)
	}
	return names, nil
}

// isNotFound reports whether err is a service's answer that the thing
// asked for does not exist: a delete of it is done.
func isNotFound(err error, codes ...string) bool {
	var aerr *awsapi.Error
	if !errors.As(err, &aerr) {
		return false
	}
	for _, code := range codes {
		if aerr.Code == code {
			return true
		}
	}
	return false
}

// PhysicalName is the name CloudFormation gives a resource whose template
// names none: the stack name, the logical id and 12 random characters,
// cut to fit maxLen as CloudFormation cuts them (the stack name and the
// logical id shortened, the random part kept whole).
func PhysicalName(stackName, logicalID string, maxLen int) string {
	suffix := randomSuffix(12)
	room := maxLen - len(suffix) - 2
	stack, logical := stackName, logicalID
	for len(stack)+len(logical) > room && (len(stack) > 0 || len(logical) > 0) {
		if len(stack) >= len(logical) {
			stack = stack[:len(stack)-1]
		} else {
			logical = logical[:len(logical)-1]
		}
	}
	return stack + "-" + logical + "-" + suffix
}

const suffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomSuffix(n int) string {
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(suffixAlphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = suffixAlphabet[k.Int64()]
	}
	return string(b)
}

// name is the resource's name: the planned one (which is the name
// property's value when the template sets it), else the property, else a
// generated PhysicalName. The planned name comes first: a replacement's
// properties as recorded may still be the old instance's.
func (c *Call) name(property string, maxLen int) string {
	if c.PlannedName != "" {
		return c.PlannedName
	}
	if s, ok := c.Properties[property].(string); ok && s != "" {
		return s
	}
	return PhysicalName(c.Stack.Name, c.LogicalID, maxLen)
}

// tags are the resource's Tags property followed by the stack's tags, as
// {key, value} pairs named by keyName and valueName. CloudFormation's own
// aws:cloudformation:* tags are left out: berth's APIs refuse the aws:
// prefix from every caller, as AWS's do.
func (c *Call) tags(keyName, valueName string) []any {
	var out []any
	for _, k := range c.tagKeys() {
		out = append(out, map[string]any{keyName: k, valueName: c.tagValues()[k]})
	}
	return out
}

// tagMap is the same tags as one map.
func (c *Call) tagMap() map[string]any {
	out := map[string]any{}
	for k, v := range c.tagValues() {
		out[k] = v
	}
	return out
}

// tagValues merges the resource's tags over the stack's.
func (c *Call) tagValues() map[string]string {
	out := map[string]string{}
	for k, v := range c.Stack.Tags {
		out[k] = v
	}
	if list, ok := c.Properties["Tags"].([]any); ok {
		for _, t := range list {
			if m, ok := t.(map[string]any); ok {
				k, _ := m["Key"].(string)
				v, _ := m["Value"].(string)
				out[k] = v
			}
		}
	}
	return out
}

// removedTagKeys are the keys of the tags an update takes away.
func (c *Call) removedTagKeys() []any {
	old := (&Call{Request: Request{Stack: c.Stack, Properties: c.Previous}}).tagValues()
	now := c.tagValues()
	var gone []any
	for k := range old {
		if _, kept := now[k]; !kept {
			gone = append(gone, k)
		}
	}
	return gone
}

// removedTags are the tags an update takes away as [{Key: k}], the form
// EC2 and ACM take them in.
func (c *Call) removedTags() []any {
	var tags []any
	for _, k := range c.removedTagKeys() {
		tags = append(tags, map[string]any{"Key": k})
	}
	return tags
}

func (c *Call) tagKeys() []string {
	values := c.tagValues()
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// str is a string property, "" when absent.
func (c *Call) str(property string) string {
	s, _ := c.Properties[property].(string)
	return s
}

// changed reports whether an update changes any of the properties.
func (c *Call) changed(properties ...string) bool {
	for _, p := range properties {
		if !jsonEqual(c.Properties[p], c.Previous[p]) {
			return true
		}
	}
	return false
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// document is a policy document property as the APIs take it: a JSON
// string (templates give an object, or already a string).
func document(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}
