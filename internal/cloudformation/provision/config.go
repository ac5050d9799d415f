package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/berth/berth/internal/awsapi/model"
)

// Configuration and secrets: Secrets Manager secrets and Systems Manager
// parameters.
func init() {
	// AWS::SecretsManager::Secret: Ref is the secret's ARN, which Id
	// repeats. CloudFormation deletes a secret without a recovery window
	// (the DeletionPolicy page: "The default behavior of CloudFormation is
	// to delete the secret with the ForceDeleteWithoutRecovery flag").
	register("AWS::SecretsManager::Secret", &Provisioner{Create: createSecret, Update: updateSecret, Delete: deleteSecret,
		NameProperty: "Name", NameLength: 512, Find: findSecret})
	// AWS::SSM::Parameter: Ref is the parameter's name; Type and Value its
	// attributes.
	register("AWS::SSM::Parameter", &Provisioner{Create: createParameter, Update: updateParameter, Delete: deleteParameter,
		NameProperty: "Name", NameLength: 2048, Find: findParameter})
}

// secretRenames are the secret's properties that feed CreateSecret's
// members of other names.
var secretRenames = map[string]string{"ReplicaRegions": "AddReplicaRegions"}

func createSecret(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("secretsmanager"), "CreateSecret", c.Properties, secretRenames,
		"Name", "Tags", "SecretString", "GenerateSecretString")
	if err != nil {
		return Result{}, err
	}
	value, given, err := c.secretString(ctx)
	if err != nil {
		return Result{}, err
	}
	in["Name"] = c.name("Name", 512)
	if given {
		in["SecretString"] = value
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["Tags"] = tags
	}
	out, err := c.invoke(ctx, "secretsmanager", "CreateSecret", in)
	if err != nil {
		return Result{}, err
	}
	return secretResult(out["ARN"]), nil
}

func secretResult(arn any) Result {
	return Result{PhysicalID: fmt.Sprint(arn), Attributes: map[string]any{"Id": arn}}
}

func findSecret(ctx context.Context, c *Call) (Result, bool, error) {
	out, err := c.invoke(ctx, "secretsmanager", "DescribeSecret", map[string]any{"SecretId": c.name("Name", 512)})
	if isNotFound(err, "ResourceNotFoundException") {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	if _, deleted := out["DeletedDate"]; deleted {
		// Another secret of the name, on its way out: not this create's.
		return Result{}, false, nil
	}
	return secretResult(out["ARN"]), true, nil
}

// secretString is the secret's value: SecretString, or a password made by
// GenerateSecretString's rules (GetRandomPassword), alone or under
// GenerateStringKey in the JSON object SecretStringTemplate gives; given
// is false for a secret of no value.
func (c *Call) secretString(ctx context.Context) (value string, given bool, err error) {
	text, hasText := c.Properties["SecretString"].(string)
	gen, hasGen := c.Properties["GenerateSecretString"].(map[string]any)
	switch {
	case hasText && hasGen:
		return "", false, Failure("You can't specify both SecretString and GenerateSecretString.") // UNVERIFIED wording
	case hasText:
		return text, true, nil
	case !hasGen:
		return "", false, nil
	}
	key, hasKey := gen["GenerateStringKey"].(string)
	tmpl, hasTmpl := gen["SecretStringTemplate"].(string)
	if hasKey != hasTmpl {
		return "", false, Failure("GenerateStringKey and SecretStringTemplate must be specified together.") // UNVERIFIED wording
	}
	in, err := apiInput(model.MustLoad("secretsmanager"), "GetRandomPassword", gen, nil, "GenerateStringKey", "SecretStringTemplate")
	if err != nil {
		return "", false, fmt.Errorf("GenerateSecretString: %w", err)
	}
	out, err := c.invoke(ctx, "secretsmanager", "GetRandomPassword", in)
	if err != nil {
		return "", false, err
	}
	password, _ := out["RandomPassword"].(string)
	if !hasKey {
		return password, true, nil
	}
	dec := json.NewDecoder(strings.NewReader(tmpl))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return "", false, Failure("SecretStringTemplate must be a JSON object.") // UNVERIFIED wording
	}
	doc[key] = password
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return "", false, err
	}
	return strings.TrimSuffix(b.String(), "\n"), true, nil
}

// updateSecret stores a new value when SecretString or
// GenerateSecretString changes (a new password for the latter), with the
// description and key, and the tags.
func updateSecret(ctx context.Context, c *Call) (Result, error) {
	arn := c.PhysicalID
	if c.changed("ReplicaRegions") {
		return Result{}, fmt.Errorf("berth does not support the property ReplicaRegions yet: its Secrets Manager has no replication")
	}
	in := map[string]any{"SecretId": arn}
	if c.changed("SecretString", "GenerateSecretString") {
		value, given, err := c.secretString(ctx)
		if err != nil {
			return Result{}, err
		}
		if given {
			in["SecretString"] = value
		}
	}
	if c.changed("Description") {
		in["Description"] = c.str("Description")
	}
	if c.changed("KmsKeyId") {
		in["KmsKeyId"] = c.str("KmsKeyId")
	}
	if c.changed("Type") {
		in["Type"] = c.Properties["Type"]
	}
	if len(in) > 1 {
		if _, err := c.invoke(ctx, "secretsmanager", "UpdateSecret", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Tags") {
		if gone := c.removedTagKeys(); len(gone) > 0 {
			if _, err := c.invoke(ctx, "secretsmanager", "UntagResource", map[string]any{"SecretId": arn, "TagKeys": gone}); err != nil {
				return Result{}, err
			}
		}
		if tags := c.tags("Key", "Value"); len(tags) > 0 {
			if _, err := c.invoke(ctx, "secretsmanager", "TagResource", map[string]any{"SecretId": arn, "Tags": tags}); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{PhysicalID: arn, Attributes: c.Attributes}, nil
}

func deleteSecret(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "secretsmanager", "DeleteSecret", map[string]any{"SecretId": c.PhysicalID, "ForceDeleteWithoutRecovery": true})
	if isNotFound(err, "ResourceNotFoundException") {
		return nil
	}
	return err
}

// parameterTags are a parameter's tags: its Tags property is a map, not
// the list of {Key, Value} other types take; the stack's tags come first.
func parameterTags(stack Stack, props map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range stack.Tags {
		out[k] = v
	}
	if m, ok := props["Tags"].(map[string]any); ok {
		for k, v := range m {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// parameterTagList is the tags as Systems Manager's calls take them.
func parameterTagList(tags map[string]string) []any {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"Key": k, "Value": tags[k]})
	}
	return out
}

func createParameter(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ssm"), "PutParameter", c.Properties, nil, "Name", "Tags")
	if err != nil {
		return Result{}, err
	}
	name := c.name("Name", 2048)
	in["Name"] = name
	if tags := parameterTagList(parameterTags(c.Stack, c.Properties)); len(tags) > 0 {
		in["Tags"] = tags
	}
	if _, err := c.invoke(ctx, "ssm", "PutParameter", in); err != nil {
		return Result{}, err
	}
	return c.parameterResult(ctx, name)
}

// parameterResult is a parameter's Ref and GetAtt values, read back.
func (c *Call) parameterResult(ctx context.Context, name string) (Result, error) {
	out, err := c.invoke(ctx, "ssm", "GetParameter", map[string]any{"Name": name})
	if err != nil {
		return Result{PhysicalID: name}, err
	}
	p, _ := out["Parameter"].(map[string]any)
	return Result{PhysicalID: name, Attributes: map[string]any{
		"Type":  p["Type"],
		"Value": p["Value"],
		"Arn":   p["ARN"], // UNVERIFIED: the resource specification lists Arn; the reference page documents Type and Value
	}}, nil
}

func findParameter(ctx context.Context, c *Call) (Result, bool, error) {
	res, err := c.parameterResult(ctx, c.name("Name", 2048))
	if isNotFound(err, "ParameterNotFound") {
		return Result{}, false, nil
	}
	return res, err == nil, err
}

// updateParameter overwrites the parameter with the new properties (a new
// version), and changes its tags apart: PutParameter takes tags only
// when it creates one.
func updateParameter(ctx context.Context, c *Call) (Result, error) {
	name := c.PhysicalID
	rest := func(props map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range props {
			if k != "Tags" {
				out[k] = v
			}
		}
		return out
	}
	if !jsonEqual(rest(c.Properties), rest(c.Previous)) {
		in, err := apiInput(model.MustLoad("ssm"), "PutParameter", c.Properties, nil, "Name", "Tags")
		if err != nil {
			return Result{}, err
		}
		in["Name"], in["Overwrite"] = name, true
		if _, err := c.invoke(ctx, "ssm", "PutParameter", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Tags") {
		was, now := parameterTags(c.Stack, c.Previous), parameterTags(c.Stack, c.Properties)
		var gone []any
		for k := range was {
			if _, kept := now[k]; !kept {
				gone = append(gone, k)
			}
		}
		if len(gone) > 0 {
			if _, err := c.invoke(ctx, "ssm", "RemoveTagsFromResource", map[string]any{
				"ResourceType": "Parameter", "ResourceId": name, "TagKeys": gone}); err != nil {
				return Result{}, err
			}
		}
		if tags := parameterTagList(now); len(tags) > 0 {
			if _, err := c.invoke(ctx, "ssm", "AddTagsToResource", map[string]any{
				"ResourceType": "Parameter", "ResourceId": name, "Tags": tags}); err != nil {
				return Result{}, err
			}
		}
	}
	return c.parameterResult(ctx, name)
}

func deleteParameter(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "ssm", "DeleteParameter", map[string]any{"Name": c.PhysicalID})
	if isNotFound(err, "ParameterNotFound") {
		return nil
	}
	return err
}
