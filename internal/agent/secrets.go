package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// Container secrets are read as ECS's agent reads them: with the task's
// execution role's credentials, through the Secrets Manager and SSM APIs
// (berth's own, at the server), so the role's policies decide, and their
// values go only into the container's environment (or its log driver's
// options).

// secretsFailurePrefix begins every stoppedReason of a secret that cannot
// be read, as ECS words it. UNVERIFIED: the wording after the prefix
// follows ECS's troubleshooting guide.
const secretsFailurePrefix = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "

// secretReader reads secrets as one role.
type secretReader interface {
	// secretString is GetSecretValue's SecretString (or the base64 of its
	// SecretBinary) for a secret ARN at a version stage or id.
	secretString(ctx context.Context, region, secretARN, versionStage, versionID string) (string, error)
	// parameters is GetParameters with decryption: the values by the names
	// asked, and the names unknown.
	parameters(ctx context.Context, region string, names []string) (values map[string]string, invalid []string, err error)
}

// sdkSecretReader reads through aws-sdk-go-v2's clients at the server.
type sdkSecretReader struct {
	endpoint string
	creds    aws.CredentialsProvider
	http     *http.Client
}

func (a *Agent) newSecretReader(creds agentproto.RoleCredentials) secretReader {
	return &sdkSecretReader{
		endpoint: a.server.base,
		creds:    credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.Token),
		http:     a.server.client,
	}
}

func (s *sdkSecretReader) config(region string) aws.Config {
	return aws.Config{Region: region, Credentials: s.creds, BaseEndpoint: aws.String(s.endpoint), HTTPClient: s.http,
		RetryMaxAttempts: 2}
}

func (s *sdkSecretReader) secretString(ctx context.Context, region, secretARN, versionStage, versionID string) (string, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)}
	if versionStage != "" {
		in.VersionStage = aws.String(versionStage)
	}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := secretsmanager.NewFromConfig(s.config(region)).GetSecretValue(ctx, in)
	if err != nil {
		return "", err
	}
	if out.SecretString != nil {
		return *out.SecretString, nil
	}
	return string(out.SecretBinary), nil
}

func (s *sdkSecretReader) parameters(ctx context.Context, region string, names []string) (map[string]string, []string, error) {
	client := ssm.NewFromConfig(s.config(region))
	values := map[string]string{}
	var invalid []string
	for chunk := range slices.Chunk(names, 10) { // GetParameters takes at most 10
		out, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: chunk, WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, nil, err
		}
		// A parameter answers under its name and ARN; one asked for with a
		// :version or :label selector also under that.
		for _, p := range out.Parameters {
			for _, ref := range []string{aws.ToString(p.Name), aws.ToString(p.ARN)} {
				values[ref+aws.ToString(p.Selector)] = aws.ToString(p.Value)
				values[ref] = aws.ToString(p.Value)
			}
		}
		invalid = append(invalid, out.InvalidParameters...)
	}
	return values, invalid, nil
}

// secretRef is one secret's valueFrom, read.
type secretRef struct {
	name string // the environment variable or log option
	// For Secrets Manager: the secret's ARN and the optional json key,
	// version stage and version id.
	secretARN, jsonKey, versionStage, versionID string
	// For SSM: the parameter's name or ARN as given.
	parameter string
	region    string
}

// parseSecretRef reads a valueFrom: a Secrets Manager secret ARN, with
// ":<json-key>:<version-stage>:<version-id>" when any of them is used,
// or an SSM parameter's ARN or name (the task's region).
func parseSecretRef(s ecstypes.Secret, taskRegion string) secretRef {
	ref := secretRef{name: awsapi.Deref(s.Name), region: taskRegion}
	from := awsapi.Deref(s.ValueFrom)
	parts := strings.Split(from, ":")
	if len(parts) >= 7 && parts[0] == "arn" && parts[2] == "secretsmanager" && parts[5] == "secret" {
		ref.secretARN = strings.Join(parts[:7], ":")
		ref.region = parts[3]
		extra := append(parts[7:], "", "", "")
		ref.jsonKey, ref.versionStage, ref.versionID = extra[0], extra[1], extra[2]
		return ref
	}
	ref.parameter = from
	if len(parts) >= 6 && parts[0] == "arn" && parts[2] == "ssm" && parts[3] != "" {
		ref.region = parts[3]
	}
	return ref
}

// resolveSecrets reads secrets with reader; the values come back by the
// names the secrets give. The error is the task's whole stoppedReason.
func resolveSecrets(ctx context.Context, reader secretReader, secrets []ecstypes.Secret, taskRegion string) (map[string]string, error) {
	out := map[string]string{}
	byRegion := map[string][]secretRef{} // SSM parameters, read in batches
	for _, s := range secrets {
		ref := parseSecretRef(s, taskRegion)
		if ref.parameter != "" {
			byRegion[ref.region] = append(byRegion[ref.region], ref)
			continue
		}
		value, err := reader.secretString(ctx, ref.region, ref.secretARN, ref.versionStage, ref.versionID)
		if err != nil {
			return nil, fmt.Errorf("%sunable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret %s from secrets manager: %s",
				secretsFailurePrefix, ref.secretARN, apiErrorText(err))
		}
		if ref.jsonKey != "" {
			var doc map[string]any
			if json.Unmarshal([]byte(value), &doc) != nil {
				return nil, fmt.Errorf("%sunable to retrieve secret from asm: service call has been retried 1 time(s): failed to unmarshal secret %s: the secret is not a JSON object",
					secretsFailurePrefix, ref.secretARN)
			}
			v, ok := doc[ref.jsonKey]
			if !ok {
				return nil, fmt.Errorf("%sunable to retrieve secret from asm: service call has been retried 1 time(s): retrieved secret from Secrets Manager did not contain json key %s",
					secretsFailurePrefix, ref.jsonKey)
			}
			if str, isString := v.(string); isString {
				value = str
			} else {
				b, _ := json.Marshal(v)
				value = string(b)
			}
		}
		out[ref.name] = value
	}
	for region, refs := range byRegion {
		names := make([]string, 0, len(refs))
		for _, ref := range refs {
			if !slices.Contains(names, ref.parameter) {
				names = append(names, ref.parameter)
			}
		}
		values, invalid, err := reader.parameters(ctx, region, names)
		if err != nil {
			return nil, fmt.Errorf("%sunable to retrieve secrets from ssm: service call has been retried 1 time(s): %s", secretsFailurePrefix, apiErrorText(err))
		}
		if len(invalid) > 0 {
			return nil, fmt.Errorf("%sunable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: %s",
				secretsFailurePrefix, strings.Join(invalid, ","))
		}
		for _, ref := range refs {
			out[ref.name] = values[ref.parameter]
		}
	}
	return out, nil
}

// apiErrorText is an API error as ECS quotes it, "<code>: <message>".
func apiErrorText(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// containerSecrets reads a container's secrets and log driver secret
// options as the task's execution role. The error is the task's whole
// stoppedReason.
func (r *runner) containerSecrets(ctx context.Context, plan *taskPlan, cp containerPlan) (env, logOptions map[string]string, err error) {
	if len(cp.Secrets) == 0 && len(cp.LogSecrets) == 0 {
		return nil, nil, nil
	}
	if !plan.HasExecutionRole {
		// UNVERIFIED wording.
		return nil, nil, errors.New(secretsFailurePrefix + "the task has no execution role to retrieve its secrets with")
	}
	creds, err := r.a.roleCredentials(ctx, plan.TaskARN, agentproto.ExecutionRole)
	if err != nil {
		return nil, nil, fmt.Errorf("%sunable to get the credentials of the execution role: %w", secretsFailurePrefix, err)
	}
	reader := r.a.secretReaderFor(creds)
	if env, err = resolveSecrets(ctx, reader, cp.Secrets, plan.Region); err != nil {
		return nil, nil, err
	}
	if logOptions, err = resolveSecrets(ctx, reader, cp.LogSecrets, plan.Region); err != nil {
		return nil, nil, err
	}
	return env, logOptions, nil
}

// withSecrets is env with the secrets' variables set, replacing any of
// the same name, in the secrets' name order.
func withSecrets(env []string, secrets map[string]string) []string {
	if len(secrets) == 0 {
		return env
	}
	out := make([]string, 0, len(env)+len(secrets))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, secret := secrets[name]; !secret {
			out = append(out, kv)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		out = append(out, name+"="+secrets[name])
	}
	return out
}
