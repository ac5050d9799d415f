package e2e

import (
	"encoding/json"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// exampleSecretString is the value of the examples' secrets, as the
// documentation's.
const exampleSecretString = `{"user":"diegor","password":"EXAMPLE-PASSWORD"}`

// secret makes the secret name with value, unless it exists.
func (e *exampleEnv) secret(name, value string) {
	e.t.Helper()
	_, err := e.secrets.CreateSecret(e.ctx(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if _, exists := errors.AsType[*smtypes.ResourceExistsException](err); !exists {
		e.must(err)
	}
}

// secretVersion puts a version of the secret with the id (a token of the
// documentation's, "" for a new one) and stages (AWSCURRENT when none).
func (e *exampleEnv) secretVersion(name, id, value string, stages ...string) {
	e.t.Helper()
	in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value), VersionStages: stages}
	if id != "" {
		in.ClientRequestToken = aws.String(id)
	}
	_, err := e.secrets.PutSecretValue(e.ctx(), in)
	e.must(err)
}

// parameterVersions puts the parameter name of type typ once per value,
// each a version, and returns the last version.
func (e *exampleEnv) parameterVersions(name string, typ ssmtypes.ParameterType, values ...string) int64 {
	e.t.Helper()
	var version int64
	for _, v := range values {
		out, err := e.ssm.PutParameter(e.ctx(), &ssm.PutParameterInput{Name: aws.String(name), Type: typ, Value: aws.String(v), Overwrite: aws.Bool(true)})
		e.must(err)
		version = out.Version
	}
	return version
}

// parameter puts the parameter once as in, a new version.
func (e *exampleEnv) parameter(in *ssm.PutParameterInput) {
	e.t.Helper()
	in.Overwrite = aws.Bool(true)
	_, err := e.ssm.PutParameter(e.ctx(), in)
	e.must(err)
}

// labelParameter puts the labels on a version of the parameter.
func (e *exampleEnv) labelParameter(name string, version int64, labels ...string) {
	e.t.Helper()
	_, err := e.ssm.LabelParameterVersion(e.ctx(), &ssm.LabelParameterVersionInput{Name: aws.String(name), ParameterVersion: aws.Int64(version), Labels: labels})
	e.must(err)
}

// exampleSecretPolicy is the documented resource policy of a secret.
const exampleSecretPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`

// secretPolicy puts the documented resource policy on the secret.
func (e *exampleEnv) secretPolicy(name string) {
	e.t.Helper()
	_, err := e.secrets.PutResourcePolicy(e.ctx(), &secretsmanager.PutResourcePolicyInput{SecretId: aws.String(name), ResourcePolicy: aws.String(e.rewrite(exampleSecretPolicy))})
	e.must(err)
}

// getSecretValue reads the secret's current value, as its users do.
func (e *exampleEnv) getSecretValue(name string) {
	e.t.Helper()
	_, err := e.secrets.GetSecretValue(e.ctx(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	e.must(err)
}

// documentedSecretValues makes the secrets of the documented
// SecretValues.
func (e *exampleEnv) documentedSecretValues() {
	e.t.Helper()
	var shown struct {
		SecretValues []struct{ Name, SecretString string }
	}
	e.must(json.Unmarshal([]byte(e.ex.Output), &shown))
	for _, v := range shown.SecretValues {
		e.secret(v.Name, v.SecretString)
	}
}

// documentedParameters puts the parameters the get-parameters examples
// show, with their values and versions.
func (e *exampleEnv) documentedParameters() {
	e.t.Helper()
	e.parameterVersions("MyStringListParameter", ssmtypes.ParameterTypeStringList, "alpha,beta,gamma")
	e.parameterVersions("MyStringParameter", ssmtypes.ParameterTypeString, "Veni", "Vidi", "Vici")
}
