package ssm

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testRegion  = gatewaytest.Region
	testAccount = gatewaytest.AccountID
)

// testEnv is Parameter Store behind the real gateway, its SDK client and a
// clock the test moves.
type testEnv struct {
	t         *testing.T
	ssm       *SSM
	store     store.Store
	sdkConfig aws.Config
	client    *sdk.Client
	clock     time.Time
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{MaxBatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, store: st, clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	e.ssm = New(Config{Store: st, Box: box, AccountID: testAccount, Now: func() time.Time { return e.clock },
		Logger: slog.New(slog.DiscardHandler)})
	e.sdkConfig = gatewaytest.Start(t, e.ssm.Service())
	e.client = sdk.NewFromConfig(e.sdkConfig)
	return e
}

// clientIn is a client of the same gateway that works in region.
func (e *testEnv) clientIn(region string) *sdk.Client {
	return sdk.NewFromConfig(e.sdkConfig, func(o *sdk.Options) { o.Region = region })
}

// put writes a parameter, failing the test on an error.
func (e *testEnv) put(in *sdk.PutParameterInput) *sdk.PutParameterOutput {
	e.t.Helper()
	out, err := e.client.PutParameter(context.Background(), in)
	if err != nil {
		e.t.Fatalf("put %s: %v", aws.ToString(in.Name), err)
	}
	return out
}

func (e *testEnv) putString(name, value string) {
	e.t.Helper()
	e.put(&sdk.PutParameterInput{Name: &name, Value: &value, Type: types.ParameterTypeString, Overwrite: aws.Bool(true)})
}

func (e *testEnv) get(name string, decrypt bool) types.Parameter {
	e.t.Helper()
	out, err := e.client.GetParameter(context.Background(), &sdk.GetParameterInput{Name: &name, WithDecryption: &decrypt})
	if err != nil {
		e.t.Fatalf("get %s: %v", name, err)
	}
	return *out.Parameter
}

func names(params []types.Parameter) []string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = aws.ToString(p.Name)
	}
	return out
}

func TestPutGetAndOverwrite(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	out := e.put(&sdk.PutParameterInput{Name: aws.String("/api/key"), Value: aws.String("v1"), Type: types.ParameterTypeString,
		Description: aws.String("the key")})
	if out.Version != 1 || out.Tier != types.ParameterTierStandard {
		t.Fatalf("put: %+v", out)
	}
	_, err := c.PutParameter(ctx, &sdk.PutParameterInput{Name: aws.String("/api/key"), Value: aws.String("v2")})
	gatewaytest.WantError(t, err, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")

	e.clock = e.clock.Add(time.Minute)
	out = e.put(&sdk.PutParameterInput{Name: aws.String("/api/key"), Value: aws.String("v2"), Overwrite: aws.Bool(true)})
	if out.Version != 2 {
		t.Fatalf("overwrite: %+v", out)
	}
	p := e.get("/api/key", false)
	if aws.ToString(p.Value) != "v2" || p.Version != 2 || p.Type != types.ParameterTypeString || aws.ToString(p.DataType) != "text" ||
		aws.ToString(p.ARN) != "arn:aws:ssm:us-east-1:123456789012:parameter/api/key" || p.Selector != nil ||
		!p.LastModifiedDate.Equal(e.clock) {
		t.Fatalf("get: %+v", p)
	}
	p = e.get("/api/key:1", false)
	if aws.ToString(p.Value) != "v1" || p.Version != 1 || aws.ToString(p.Selector) != ":1" || aws.ToString(p.Name) != "/api/key" {
		t.Fatalf("get :1: %+v", p)
	}
	// A name without slashes; spaces around a name do not count.
	e.putString(" plain ", "x")
	if p := e.get("plain", false); aws.ToString(p.ARN) != "arn:aws:ssm:us-east-1:123456789012:parameter/plain" {
		t.Fatalf("plain: %+v", p)
	}
	// GetParameter takes an ARN, and an ARN drops the leading slash.
	if p := e.get("arn:aws:ssm:us-east-1:123456789012:parameter/api/key", false); aws.ToString(p.Name) != "/api/key" {
		t.Fatalf("by ARN: %+v", p)
	}
	_, err = c.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/api/missing")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")
	_, err = c.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/api/key:7")})
	gatewaytest.WantError(t, err, "ParameterVersionNotFound", "Systems Manager could not find version 7 of /api/key. Verify the version and try again.")
	_, err = c.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("arn:aws:ssm:us-east-1:999999999999:parameter/api/key")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")

	gets, err := c.GetParameters(ctx, &sdk.GetParametersInput{Names: []string{"/api/key", "plain", "/api/key:1", "/nope", "/api/key:9", "/api/key"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(gets.Parameters); !slices.Equal(got, []string{"/api/key", "plain", "/api/key"}) ||
		!slices.Equal(gets.InvalidParameters, []string{"/nope", "/api/key:9"}) || gets.Parameters[2].Version != 1 {
		t.Fatalf("get parameters: %v %v", got, gets.InvalidParameters)
	}
	// Every version names who wrote it: the admin key is the account's root.
	hist, err := c.GetParameterHistory(ctx, &sdk.GetParameterHistoryInput{Name: aws.String("/api/key")})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Parameters) != 2 || aws.ToString(hist.Parameters[0].LastModifiedUser) != "arn:aws:iam::123456789012:root" ||
		aws.ToString(hist.Parameters[0].Description) != "the key" || hist.Parameters[1].Description != nil {
		t.Fatalf("history: %+v", hist.Parameters)
	}
}

func TestRegionsAreSeparate(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.putString("/r/x", "east")
	west := e.clientIn("us-west-2")
	_, err := west.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/r/x")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")
	if _, err := west.PutParameter(ctx, &sdk.PutParameterInput{Name: aws.String("/r/x"), Value: aws.String("west"), Type: types.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	out, err := west.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/r/x")})
	if err != nil || aws.ToString(out.Parameter.Value) != "west" || aws.ToString(out.Parameter.ARN) != "arn:aws:ssm:us-west-2:123456789012:parameter/r/x" {
		t.Fatalf("west: %+v %v", out, err)
	}
	if p := e.get("/r/x", false); aws.ToString(p.Value) != "east" {
		t.Fatalf("east: %+v", p)
	}
}

func TestSecureString(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	const secret = "s3cr3t-password-value"
	e.put(&sdk.PutParameterInput{Name: aws.String("/db/pass"), Value: aws.String(secret), Type: types.ParameterTypeSecureString})
	e.put(&sdk.PutParameterInput{Name: aws.String("/db/pass2"), Value: aws.String(secret + "-2"), Type: types.ParameterTypeSecureString,
		KeyId: aws.String("alias/my-key")})
	e.putString("/db/host", "db.internal.example")

	hidden := e.get("/db/pass", false)
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(hidden.Value))
	if err != nil || strings.Contains(aws.ToString(hidden.Value), secret) || bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("encrypted value: %q (%v)", aws.ToString(hidden.Value), err)
	}
	if p := e.get("/db/pass", true); aws.ToString(p.Value) != secret || p.Type != types.ParameterTypeSecureString {
		t.Fatalf("decrypted: %+v", p)
	}
	// WithDecryption does nothing to a String.
	if p := e.get("/db/host", false); aws.ToString(p.Value) != "db.internal.example" {
		t.Fatalf("string: %+v", p)
	}
	desc, err := e.client.DescribeParameters(ctx, &sdk.DescribeParametersInput{})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, p := range desc.Parameters {
		keys[aws.ToString(p.Name)] = aws.ToString(p.KeyId)
	}
	if keys["/db/pass"] != "alias/aws/ssm" || keys["/db/pass2"] != "alias/my-key" || keys["/db/host"] != "" {
		t.Fatalf("key ids: %v", keys)
	}
	_, err = e.client.PutParameter(ctx, &sdk.PutParameterInput{Name: aws.String("/db/pass3"), Value: aws.String("x"),
		Type: types.ParameterTypeSecureString, KeyId: aws.String("not_a_key")})
	gatewaytest.WantError(t, err, "InvalidKeyId", "")

	// No value of any type is readable in the store.
	kvs, _, err := e.store.List(ctx, ssmstate.Prefix, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		for _, plain := range []string{secret, "db.internal.example"} {
			if bytes.Contains(kv.Value, []byte(plain)) {
				t.Fatalf("%s holds a value in the clear", kv.Key)
			}
		}
	}
	if len(kvs) != 6 {
		t.Fatalf("%d records, want 3 parameters and 3 versions", len(kvs))
	}
}

func TestNames(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	const nameRule = `Parameter name: can't be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of ` +
		`sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`
	put := func(name string) error {
		_, err := e.client.PutParameter(ctx, &sdk.PutParameterInput{Name: &name, Value: aws.String("v"), Type: types.ParameterTypeString})
		return err
	}
	for _, name := range []string{"has space", "a/b", "/a//b", "/a/", "/", "ssm-param", "/SSM/x", "/a/b@c", "name:1"} {
		err := put(name)
		if err == nil {
			t.Fatalf("%q accepted", name)
		}
		gatewaytest.WantError(t, err, "ValidationException", nameRule)
	}
	for _, name := range []string{"aws-thing", "/AWS/x", "/aws/service/x", "Awsome"} {
		gatewaytest.WantError(t, put(name), "AccessDeniedException", "No access to reserved parameter name: "+name+".")
	}
	deep := strings.Repeat("/l", 15)
	if err := put(deep); err != nil {
		t.Fatalf("15 levels: %v", err)
	}
	gatewaytest.WantError(t, put(deep+"/x"), "HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of 15 levels.")
	prefix := len("arn:aws:ssm:us-east-1:123456789012:parameter/")
	if err := put("/" + strings.Repeat("n", 1011-prefix)); err != nil {
		t.Fatalf("longest name: %v", err)
	}
	gatewaytest.WantError(t, put("/"+strings.Repeat("n", 1012-prefix)), "ValidationException", "")
	// Systems Manager's public parameters: berth has none.
	_, err := e.client.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")
	_, err = e.client.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("bad name")})
	gatewaytest.WantError(t, err, "ValidationException", nameRule)
	_, err = e.client.DeleteParameter(ctx, &sdk.DeleteParameterInput{Name: aws.String("aws-cdk-playground")})
	gatewaytest.WantError(t, err, "AccessDeniedException", "No access to reserved parameter name: aws-cdk-playground.")
}

func TestPutChecks(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.put(&sdk.PutParameterInput{Name: aws.String("/p"), Value: aws.String("123"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`^\d+$`)})
	try := func(in *sdk.PutParameterInput) error {
		_, err := e.client.PutParameter(ctx, in)
		return err
	}
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/p"), Value: aws.String("abc"), Overwrite: aws.Bool(true), AllowedPattern: aws.String(`^\d+$`)}),
		"ParameterPatternMismatchException", `Parameter value, cannot be validated against allowedPattern: ^\d+$`)
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/p"), Value: aws.String("1"), Overwrite: aws.Bool(true), AllowedPattern: aws.String(`(`)}),
		"InvalidAllowedPatternException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/p"), Value: aws.String("1"), Overwrite: aws.Bool(true), Type: types.ParameterTypeSecureString}),
		"HierarchyTypeMismatchException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/new"), Value: aws.String("1")}), "ValidationException",
		"A parameter type is required when you create a parameter.")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/p"), Value: aws.String("1"), Overwrite: aws.Bool(true),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}), "ValidationException",
		"Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. "+
			"To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/p"), Value: aws.String(""), Overwrite: aws.Bool(true)}), "ValidationException",
		"1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/img"), Value: aws.String("ami-12345678"), Type: types.ParameterTypeString,
		DataType: aws.String("AWS:EC2:IMAGE")}), "ValidationException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/img"), Value: aws.String("not-an-image"), Type: types.ParameterTypeString,
		DataType: aws.String("aws:ec2:image")}), "ValidationException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/img"), Value: aws.String("ami-12345678"), Type: types.ParameterTypeSecureString,
		DataType: aws.String("aws:ec2:image")}), "UnsupportedParameterType", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/bad-type"), Value: aws.String("x"), Type: "Strng"}), "ValidationException",
		"1 validation error detected: Value 'Strng' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [String, StringList, SecureString]")
	e.put(&sdk.PutParameterInput{Name: aws.String("/img"), Value: aws.String("ami-0123456789abcdef0"), Type: types.ParameterTypeString,
		DataType: aws.String("aws:ec2:image")})
	if p := e.get("/img", false); aws.ToString(p.DataType) != "aws:ec2:image" {
		t.Fatalf("image: %+v", p)
	}
	// Refused writes changed nothing.
	if p := e.get("/p", false); p.Version != 1 || aws.ToString(p.Value) != "123" {
		t.Fatalf("after refused writes: %+v", p)
	}
	// Type, data type and key carry over when an overwrite leaves them out.
	e.put(&sdk.PutParameterInput{Name: aws.String("/p"), Value: aws.String("456"), Overwrite: aws.Bool(true)})
	if p := e.get("/p", false); p.Version != 2 || p.Type != types.ParameterTypeString || aws.ToString(p.Value) != "456" {
		t.Fatalf("overwrite: %+v", p)
	}
}

func TestTiersAndPolicies(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	big := strings.Repeat("x", 5000)
	try := func(in *sdk.PutParameterInput) error {
		_, err := e.client.PutParameter(ctx, in)
		return err
	}
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/big"), Value: &big, Type: types.ParameterTypeString}), "ValidationException",
		"Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the "+
			"parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html")
	out := e.put(&sdk.PutParameterInput{Name: aws.String("/big"), Value: &big, Type: types.ParameterTypeString, Tier: types.ParameterTierIntelligentTiering})
	if out.Tier != types.ParameterTierAdvanced {
		t.Fatalf("intelligent tiering of 5000 characters: %+v", out)
	}
	huge := strings.Repeat("x", 9000)
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/big"), Value: &huge, Overwrite: aws.Bool(true)}), "ValidationException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/big"), Value: aws.String("small"), Overwrite: aws.Bool(true), Tier: types.ParameterTierStandard}),
		"ValidationException", "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier "+
			"to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.")
	// An overwrite that names no tier keeps Advanced.
	if out := e.put(&sdk.PutParameterInput{Name: aws.String("/big"), Value: aws.String("small"), Overwrite: aws.Bool(true)}); out.Tier != types.ParameterTierAdvanced {
		t.Fatalf("overwrite: %+v", out)
	}
	if out := e.put(&sdk.PutParameterInput{Name: aws.String("/small"), Value: aws.String("s"), Type: types.ParameterTypeString,
		Tier: types.ParameterTierIntelligentTiering}); out.Tier != types.ParameterTierStandard {
		t.Fatalf("intelligent tiering of a small value: %+v", out)
	}

	const expiration = `{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00.000Z"}}`
	const notice = `{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"60","Unit":"Days"}}`
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/pol"), Value: aws.String("v"), Type: types.ParameterTypeString,
		Policies: aws.String("[" + expiration + "]")}), "ValidationException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/pol"), Value: aws.String("v"), Type: types.ParameterTypeString,
		Tier: types.ParameterTierAdvanced, Policies: aws.String(`[{"Type":"Deletion","Attributes":{}}]`)}), "InvalidPolicyTypeException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/pol"), Value: aws.String("v"), Type: types.ParameterTypeString,
		Tier: types.ParameterTierAdvanced, Policies: aws.String("[" + expiration + "," + expiration + "]")}), "IncompatiblePolicyException", "")
	gatewaytest.WantError(t, try(&sdk.PutParameterInput{Name: aws.String("/pol"), Value: aws.String("v"), Type: types.ParameterTypeString,
		Tier: types.ParameterTierAdvanced, Policies: aws.String("not json")}), "InvalidPolicyAttributeException", "")
	out = e.put(&sdk.PutParameterInput{Name: aws.String("/pol"), Value: aws.String("v"), Type: types.ParameterTypeString,
		Tier: types.ParameterTierIntelligentTiering, Policies: aws.String("[" + expiration + "," + notice + "]")})
	if out.Tier != types.ParameterTierAdvanced {
		t.Fatalf("policies under intelligent tiering: %+v", out)
	}
	desc, err := e.client.DescribeParameters(ctx, &sdk.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{
		{Key: aws.String("Name"), Values: []string{"/pol"}}}})
	if err != nil {
		t.Fatal(err)
	}
	pol := desc.Parameters[0].Policies
	if len(pol) != 2 || aws.ToString(pol[0].PolicyType) != "Expiration" || aws.ToString(pol[0].PolicyText) != expiration ||
		aws.ToString(pol[1].PolicyStatus) != "Pending" || desc.Parameters[0].Tier != types.ParameterTierAdvanced {
		t.Fatalf("policies: %+v", desc.Parameters[0])
	}
}

func TestLabelsAndSelectors(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	for i := 1; i <= 3; i++ {
		e.putString("/app/conf", fmt.Sprintf("v%d", i))
	}
	lab, err := c.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/app/conf"), ParameterVersion: aws.Int64(1),
		Labels: []string{"prod", "Stable_1.x", "aws-label", "SSMx", "1st", "has space", "a/b"}})
	if err != nil {
		t.Fatal(err)
	}
	if lab.ParameterVersion != 1 || !slices.Equal(lab.InvalidLabels, []string{"aws-label", "SSMx", "1st", "has space", "a/b"}) {
		t.Fatalf("label: %+v", lab)
	}
	if p := e.get("/app/conf:prod", false); p.Version != 1 || aws.ToString(p.Value) != "v1" || aws.ToString(p.Selector) != ":prod" {
		t.Fatalf("by label: %+v", p)
	}
	// With no version named, the label goes on the current one, moving off
	// the version that had it.
	lab, err = c.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/app/conf"), Labels: []string{"prod"}})
	if err != nil || lab.ParameterVersion != 3 || len(lab.InvalidLabels) != 0 {
		t.Fatalf("move: %+v %v", lab, err)
	}
	if p := e.get("/app/conf:prod", false); p.Version != 3 {
		t.Fatalf("moved label: %+v", p)
	}
	hist, err := c.GetParameterHistory(ctx, &sdk.GetParameterHistoryInput{Name: aws.String("/app/conf")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hist.Parameters[0].Labels, []string{"Stable_1.x"}) || len(hist.Parameters[1].Labels) != 0 ||
		!slices.Equal(hist.Parameters[2].Labels, []string{"prod"}) {
		t.Fatalf("history labels: %+v", hist.Parameters)
	}
	_, err = c.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/app/conf:nolabel")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")
	_, err = c.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/app/conf"), ParameterVersion: aws.Int64(9), Labels: []string{"x"}})
	gatewaytest.WantError(t, err, "ParameterVersionNotFound", "Systems Manager could not find version 9 of /app/conf. Verify the version and try again.")
	_, err = c.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/app/none"), Labels: []string{"x"}})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")

	// Ten labels on a version at most; the refused call changes nothing.
	var ten []string
	for i := range 9 {
		ten = append(ten, fmt.Sprintf("l%d", i))
	}
	if _, err := c.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/app/conf"), Labels: ten}); err != nil {
		t.Fatal(err)
	}
	_, err = c.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/app/conf"), Labels: []string{"eleventh"}})
	gatewaytest.WantError(t, err, "ParameterVersionLabelLimitExceeded", "")
	_, err = c.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/app/conf:eleventh")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")

	un, err := c.UnlabelParameterVersion(ctx, &sdk.UnlabelParameterVersionInput{Name: aws.String("/app/conf"), ParameterVersion: aws.Int64(3),
		Labels: []string{"prod", "Stable_1.x", "never"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(un.RemovedLabels, []string{"prod"}) || !slices.Equal(un.InvalidLabels, []string{"Stable_1.x", "never"}) {
		t.Fatalf("unlabel: %+v", un)
	}
	_, err = c.UnlabelParameterVersion(ctx, &sdk.UnlabelParameterVersionInput{Name: aws.String("/app/conf"), ParameterVersion: aws.Int64(8), Labels: []string{"x"}})
	gatewaytest.WantError(t, err, "ParameterVersionNotFound", "")

	gets, err := c.GetParameters(ctx, &sdk.GetParametersInput{Names: []string{"/app/conf:Stable_1.x", "/app/conf:prod", "/app/conf:2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(gets.Parameters) != 2 || gets.Parameters[0].Version != 1 || aws.ToString(gets.Parameters[1].Selector) != ":2" ||
		!slices.Equal(gets.InvalidParameters, []string{"/app/conf:prod"}) {
		t.Fatalf("get parameters: %+v %v", gets.Parameters, gets.InvalidParameters)
	}
}

func TestVersionLimit(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for i := 1; i <= 101; i++ {
		e.putString("/many", fmt.Sprintf("v%d", i))
	}
	// The oldest version went when the 101st came.
	_, err := e.client.GetParameter(ctx, &sdk.GetParameterInput{Name: aws.String("/many:1")})
	gatewaytest.WantError(t, err, "ParameterVersionNotFound", "")
	if p := e.get("/many:2", false); aws.ToString(p.Value) != "v2" {
		t.Fatalf("v2: %+v", p)
	}
	var versions []int64
	p := sdk.NewGetParameterHistoryPaginator(e.client, &sdk.GetParameterHistoryInput{Name: aws.String("/many"), MaxResults: aws.Int32(30)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range page.Parameters {
			versions = append(versions, h.Version)
		}
	}
	if len(versions) != 100 || versions[0] != 2 || versions[99] != 101 {
		t.Fatalf("history: %d versions, %v...", len(versions), versions[:3])
	}
	// A label on the oldest version keeps it, and the write is refused.
	if _, err := e.client.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/many"), ParameterVersion: aws.Int64(2),
		Labels: []string{"keep"}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PutParameter(ctx, &sdk.PutParameterInput{Name: aws.String("/many"), Value: aws.String("v102"), Overwrite: aws.Bool(true)})
	gatewaytest.WantError(t, err, "ParameterMaxVersionLimitExceeded", "You attempted to create a new version of /many by calling the PutParameter API "+
		"with the overwrite flag. Version 2, the oldest version, can't be deleted because it has a label associated with it. "+
		"Move the label to another version of the parameter, and try again.")
	if p := e.get("/many", false); p.Version != 101 {
		t.Fatalf("after the refused write: %+v", p)
	}
	kvs, _, err := e.store.List(ctx, ssmstate.VersionPrefix, store.ListOptions{})
	if err != nil || len(kvs) != 100 {
		t.Fatalf("%d version records (%v), want 100", len(kvs), err)
	}
}

func TestHistory(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.put(&sdk.PutParameterInput{Name: aws.String("/h"), Value: aws.String("one"), Type: types.ParameterTypeSecureString, Description: aws.String("d1")})
	e.put(&sdk.PutParameterInput{Name: aws.String("/h"), Value: aws.String("two"), Overwrite: aws.Bool(true), KeyId: aws.String("alias/other")})
	e.put(&sdk.PutParameterInput{Name: aws.String("/h"), Value: aws.String("three"), Overwrite: aws.Bool(true)})
	var got []types.ParameterHistory
	var token *string
	for {
		out, err := e.client.GetParameterHistory(ctx, &sdk.GetParameterHistoryInput{Name: aws.String("/h"), MaxResults: aws.Int32(2),
			WithDecryption: aws.Bool(true), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Parameters...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	if len(got) != 3 || aws.ToString(got[0].Value) != "one" || aws.ToString(got[2].Value) != "three" ||
		aws.ToString(got[0].KeyId) != "alias/aws/ssm" || aws.ToString(got[1].KeyId) != "alias/other" || aws.ToString(got[2].KeyId) != "alias/other" ||
		aws.ToString(got[0].Description) != "d1" || got[0].Tier != types.ParameterTierStandard || got[2].Policies == nil {
		t.Fatalf("history: %+v", got)
	}
	out, err := e.client.GetParameterHistory(ctx, &sdk.GetParameterHistoryInput{Name: aws.String("/h")})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range out.Parameters {
		if v := aws.ToString(h.Value); v == "one" || v == "two" || v == "three" {
			t.Fatalf("history without decryption shows version %d's value", h.Version)
		}
	}
	_, err = e.client.GetParameterHistory(ctx, &sdk.GetParameterHistoryInput{Name: aws.String("/none")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")
	_, err = e.client.GetParameterHistory(ctx, &sdk.GetParameterHistoryInput{Name: aws.String("/h"), NextToken: aws.String("!!")})
	gatewaytest.WantError(t, err, "InvalidNextToken", "")
}

func TestGetParametersByPath(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	e.putString("/app/db/host", "h")
	e.put(&sdk.PutParameterInput{Name: aws.String("/app/db/pass"), Value: aws.String("pw"), Type: types.ParameterTypeSecureString})
	e.putString("/app/web/port", "80")
	e.putString("/app/x", "x")
	e.putString("/apple", "a")
	e.putString("/other", "o")
	e.putString("top", "t")
	byPath := func(in *sdk.GetParametersByPathInput) []types.Parameter {
		t.Helper()
		var all []types.Parameter
		p := sdk.NewGetParametersByPathPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page.Parameters...)
		}
		return all
	}
	if got := names(byPath(&sdk.GetParametersByPathInput{Path: aws.String("/app")})); !slices.Equal(got, []string{"/app/x"}) {
		t.Fatalf("one level: %v", got)
	}
	all := byPath(&sdk.GetParametersByPathInput{Path: aws.String("/app/"), Recursive: aws.Bool(true), MaxResults: aws.Int32(1)})
	if got := names(all); !slices.Equal(got, []string{"/app/db/host", "/app/db/pass", "/app/web/port", "/app/x"}) {
		t.Fatalf("recursive: %v", got)
	}
	if v := aws.ToString(all[1].Value); v == "pw" {
		t.Fatal("a SecureString came decrypted without WithDecryption")
	}
	secure := byPath(&sdk.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
		ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"SecureString"}}}})
	if len(secure) != 1 || aws.ToString(secure[0].Value) != "pw" {
		t.Fatalf("secure: %+v", secure)
	}
	if got := names(byPath(&sdk.GetParametersByPathInput{Path: aws.String("/")})); !slices.Equal(got, []string{"/apple", "/other", "top"}) {
		t.Fatalf("root: %v", got)
	}
	// A Label filter returns the labelled version.
	e.putString("/app/x", "x2")
	if _, err := c.LabelParameterVersion(ctx, &sdk.LabelParameterVersionInput{Name: aws.String("/app/x"), ParameterVersion: aws.Int64(1),
		Labels: []string{"old"}}); err != nil {
		t.Fatal(err)
	}
	labelled := byPath(&sdk.GetParametersByPathInput{Path: aws.String("/"), Recursive: aws.Bool(true),
		ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Label"), Values: []string{"old"}}}})
	if len(labelled) != 1 || labelled[0].Version != 1 || aws.ToString(labelled[0].Value) != "x" {
		t.Fatalf("label filter: %+v", labelled)
	}
	if got := byPath(&sdk.GetParametersByPathInput{Path: aws.String("/aws/service/global-infrastructure")}); len(got) != 0 {
		t.Fatalf("global namespace: %v", names(got))
	}

	_, err := c.GetParametersByPath(ctx, &sdk.GetParametersByPathInput{Path: aws.String("app")})
	gatewaytest.WantError(t, err, "ValidationException", `The parameter doesn't meet the parameter name requirements. The parameter name must begin `+
		`with a forward slash "/". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, `+
		`or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, `+
		`must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.`)
	_, err = c.GetParametersByPath(ctx, &sdk.GetParametersByPathInput{Path: aws.String("/SSM/x")})
	gatewaytest.WantError(t, err, "ValidationException", "")
	_, err = c.GetParametersByPath(ctx, &sdk.GetParametersByPathInput{Path: aws.String("/app"),
		ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Name"), Values: []string{"/app/x"}}}})
	gatewaytest.WantError(t, err, "InvalidFilterKey", "")
	_, err = c.GetParametersByPath(ctx, &sdk.GetParametersByPathInput{Path: aws.String("/app"),
		ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Label"), Option: aws.String("BeginsWith"), Values: []string{"o"}}}})
	gatewaytest.WantError(t, err, "InvalidFilterOption", "")
	_, err = c.GetParametersByPath(ctx, &sdk.GetParametersByPathInput{Path: aws.String("/app"), MaxResults: aws.Int32(11)})
	gatewaytest.WantError(t, err, "ValidationException",
		"1 validation error detected: Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10")
	_, err = c.GetParametersByPath(ctx, &sdk.GetParametersByPathInput{Path: aws.String("/app"), NextToken: aws.String("@@@")})
	gatewaytest.WantError(t, err, "InvalidNextToken", "")
}

func TestDescribeParameters(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	e.put(&sdk.PutParameterInput{Name: aws.String("/prod/db/pass"), Value: aws.String("p"), Type: types.ParameterTypeSecureString,
		KeyId: aws.String("alias/prod"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	e.put(&sdk.PutParameterInput{Name: aws.String("/prod/db/host"), Value: aws.String("h"), Type: types.ParameterTypeString,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	e.put(&sdk.PutParameterInput{Name: aws.String("/prod/list"), Value: aws.String("a,b"), Type: types.ParameterTypeStringList})
	e.put(&sdk.PutParameterInput{Name: aws.String("/dev/db/host"), Value: aws.String("h"), Type: types.ParameterTypeString,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}})
	e.put(&sdk.PutParameterInput{Name: aws.String("/dev/img"), Value: aws.String("ami-12345678"), Type: types.ParameterTypeString,
		DataType: aws.String("aws:ec2:image"), Tier: types.ParameterTierAdvanced})
	e.putString("flat", "f")
	describe := func(in *sdk.DescribeParametersInput) []string {
		t.Helper()
		var got []string
		p := sdk.NewDescribeParametersPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Parameters {
				got = append(got, aws.ToString(m.Name))
			}
		}
		return got
	}
	filter := func(key, option string, values ...string) []types.ParameterStringFilter {
		f := types.ParameterStringFilter{Key: &key, Values: values}
		if option != "" {
			f.Option = &option
		}
		return []types.ParameterStringFilter{f}
	}
	for _, tc := range []struct {
		name string
		in   *sdk.DescribeParametersInput
		want []string
	}{
		{"all, two a page", &sdk.DescribeParametersInput{MaxResults: aws.Int32(2)},
			[]string{"/dev/db/host", "/dev/img", "/prod/db/host", "/prod/db/pass", "/prod/list", "flat"}},
		{"name equals", &sdk.DescribeParametersInput{ParameterFilters: filter("Name", "", "/prod/list", "flat")}, []string{"/prod/list", "flat"}},
		{"name begins with", &sdk.DescribeParametersInput{ParameterFilters: filter("Name", "BeginsWith", "/prod/db")},
			[]string{"/prod/db/host", "/prod/db/pass"}},
		{"name contains", &sdk.DescribeParametersInput{ParameterFilters: filter("Name", "Contains", "db")},
			[]string{"/dev/db/host", "/prod/db/host", "/prod/db/pass"}},
		{"type", &sdk.DescribeParametersInput{ParameterFilters: filter("Type", "", "StringList", "SecureString")},
			[]string{"/prod/db/pass", "/prod/list"}},
		{"key id", &sdk.DescribeParametersInput{ParameterFilters: filter("KeyId", "", "alias/prod")}, []string{"/prod/db/pass"}},
		{"path one level", &sdk.DescribeParametersInput{ParameterFilters: filter("Path", "", "/prod")}, []string{"/prod/list"}},
		{"path recursive", &sdk.DescribeParametersInput{ParameterFilters: filter("Path", "Recursive", "/prod")},
			[]string{"/prod/db/host", "/prod/db/pass", "/prod/list"}},
		{"tier", &sdk.DescribeParametersInput{ParameterFilters: filter("Tier", "", "Advanced")}, []string{"/dev/img"}},
		{"data type", &sdk.DescribeParametersInput{ParameterFilters: filter("DataType", "", "aws:ec2:image")}, []string{"/dev/img"}},
		{"tag value", &sdk.DescribeParametersInput{ParameterFilters: filter("tag:env", "", "prod")}, []string{"/prod/db/host", "/prod/db/pass"}},
		{"tag key", &sdk.DescribeParametersInput{ParameterFilters: filter("tag:env", "")}, []string{"/dev/db/host", "/prod/db/host", "/prod/db/pass"}},
		{"two filters", &sdk.DescribeParametersInput{ParameterFilters: append(filter("Path", "Recursive", "/prod"), filter("Type", "", "String")...)},
			[]string{"/prod/db/host"}},
		{"older filters", &sdk.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyName, Values: []string{"/dev"}}}},
			[]string{"/dev/db/host", "/dev/img"}},
		{"shared", &sdk.DescribeParametersInput{Shared: aws.Bool(true)}, nil},
	} {
		if got := describe(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	one, err := c.DescribeParameters(ctx, &sdk.DescribeParametersInput{ParameterFilters: filter("Name", "", "/prod/db/pass")})
	if err != nil {
		t.Fatal(err)
	}
	m := one.Parameters[0]
	if aws.ToString(m.ARN) != "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db/pass" || m.Type != types.ParameterTypeSecureString ||
		m.Version != 1 || m.Tier != types.ParameterTierStandard || aws.ToString(m.DataType) != "text" || m.Policies == nil ||
		aws.ToString(m.LastModifiedUser) != "arn:aws:iam::123456789012:root" || !m.LastModifiedDate.Equal(e.clock) {
		t.Fatalf("metadata: %+v", m)
	}

	for _, tc := range []struct {
		name      string
		in        *sdk.DescribeParametersInput
		code, msg string
	}{
		{"both kinds of filter", &sdk.DescribeParametersInput{ParameterFilters: filter("Type", "", "String"),
			Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyType, Values: []string{"String"}}}},
			"ValidationException", "You can use either Filters or ParameterFilters in a single request."},
		{"label", &sdk.DescribeParametersInput{ParameterFilters: filter("Label", "", "x")}, "InvalidFilterKey", ""},
		{"unknown key", &sdk.DescribeParametersInput{ParameterFilters: filter("Colour", "", "x")}, "ValidationException", ""},
		{"duplicate", &sdk.DescribeParametersInput{ParameterFilters: append(filter("Type", "", "String"), filter("Type", "", "StringList")...)},
			"InvalidFilterKey", ""},
		{"option", &sdk.DescribeParametersInput{ParameterFilters: filter("Type", "Contains", "String")}, "InvalidFilterOption", ""},
		{"path option", &sdk.DescribeParametersInput{ParameterFilters: filter("Path", "Equals", "/prod")}, "InvalidFilterOption", ""},
		{"type value", &sdk.DescribeParametersInput{ParameterFilters: filter("Type", "", "Secret")}, "InvalidFilterValue",
			"The following filter value is not valid: Secret. Valid values include: [String, StringList, SecureString]."},
		{"no values", &sdk.DescribeParametersInput{ParameterFilters: filter("Name", "")}, "InvalidFilterValue", ""},
		{"reserved path", &sdk.DescribeParametersInput{ParameterFilters: filter("Path", "", "/aws/service")}, "ValidationException", ""},
		{"token", &sdk.DescribeParametersInput{NextToken: aws.String("***")}, "InvalidNextToken", ""},
	} {
		_, err := c.DescribeParameters(ctx, tc.in)
		t.Run(tc.name, func(t *testing.T) { gatewaytest.WantError(t, err, tc.code, tc.msg) })
	}
}

func TestDelete(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	for _, n := range []string{"/d/a", "/d/b", "/d/c"} {
		e.putString(n, "1")
		e.putString(n, "2")
	}
	if _, err := c.DeleteParameter(ctx, &sdk.DeleteParameterInput{Name: aws.String("/d/a")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.DeleteParameter(ctx, &sdk.DeleteParameterInput{Name: aws.String("/d/a")})
	gatewaytest.WantError(t, err, "ParameterNotFound", "")
	out, err := c.DeleteParameters(ctx, &sdk.DeleteParametersInput{Names: []string{"/d/b", "/d/a", "bad name", "/d/c"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.DeletedParameters, []string{"/d/b", "/d/c"}) || !slices.Equal(out.InvalidParameters, []string{"/d/a", "bad name"}) {
		t.Fatalf("delete parameters: %+v", out)
	}
	kvs, _, err := e.store.List(ctx, ssmstate.Prefix, store.ListOptions{})
	if err != nil || len(kvs) != 0 {
		t.Fatalf("%d records left (%v)", len(kvs), err)
	}
	// A name deleted and written again starts over at version 1.
	e.putString("/d/a", "again")
	if p := e.get("/d/a", false); p.Version != 1 || aws.ToString(p.Value) != "again" {
		t.Fatalf("recreated: %+v", p)
	}
}

func TestTags(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client
	e.put(&sdk.PutParameterInput{Name: aws.String("/t"), Value: aws.String("v"), Type: types.ParameterTypeString,
		Tags: []types.Tag{{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("a"), Value: aws.String("1")}}})
	list := func(id string) []string {
		t.Helper()
		out, err := c.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingParameter, ResourceId: &id})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tag := range out.TagList {
			kv = append(kv, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		return kv
	}
	if got := list("/t"); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Fatalf("tags: %v", got)
	}
	arn := "arn:aws:ssm:us-east-1:123456789012:parameter/t"
	if _, err := c.AddTagsToResource(ctx, &sdk.AddTagsToResourceInput{ResourceType: types.ResourceTypeForTaggingParameter, ResourceId: &arn,
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("one")}, {Key: aws.String("c"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveTagsFromResource(ctx, &sdk.RemoveTagsFromResourceInput{ResourceType: types.ResourceTypeForTaggingParameter,
		ResourceId: aws.String("/t"), TagKeys: []string{"b", "nope"}}); err != nil {
		t.Fatal(err)
	}
	if got := list(arn); !slices.Equal(got, []string{"a=one", "c=3"}) {
		t.Fatalf("tags: %v", got)
	}
	var many []types.Tag
	for i := range 49 {
		many = append(many, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
	}
	_, err := c.AddTagsToResource(ctx, &sdk.AddTagsToResourceInput{ResourceType: types.ResourceTypeForTaggingParameter, ResourceId: aws.String("/t"), Tags: many})
	gatewaytest.WantError(t, err, "TooManyTagsError", "")
	if got := list("/t"); len(got) != 2 {
		t.Fatalf("after too many tags: %v", got)
	}
	_, err = c.AddTagsToResource(ctx, &sdk.AddTagsToResourceInput{ResourceType: types.ResourceTypeForTaggingParameter, ResourceId: aws.String("/none"),
		Tags: many[:1]})
	gatewaytest.WantError(t, err, "InvalidResourceId", "")
	_, err = c.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingDocument, ResourceId: aws.String("doc")})
	gatewaytest.WantError(t, err, "InvalidResourceId", "")
	// Overwriting a parameter keeps its tags.
	e.putString("/t", "v2")
	if got := list("/t"); len(got) != 2 {
		t.Fatalf("tags after an overwrite: %v", got)
	}
}

func TestParameterLimit(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.ssm.s.limits[tierStandard] = 2
	e.putString("/one", "1")
	e.putString("/two", "2")
	_, err := e.client.PutParameter(ctx, &sdk.PutParameterInput{Name: aws.String("/three"), Value: aws.String("3"), Type: types.ParameterTypeString})
	gatewaytest.WantError(t, err, "ParameterLimitExceeded", "")
	e.putString("/two", "2 again")
	e.put(&sdk.PutParameterInput{Name: aws.String("/three"), Value: aws.String("3"), Type: types.ParameterTypeString, Tier: types.ParameterTierAdvanced})
}

// Writers racing on one parameter each get a version of their own.
func TestConcurrentOverwrites(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.putString("/race", "0")
	var wg sync.WaitGroup
	versions := make(chan int64, 10)
	for i := range 10 {
		wg.Go(func() {
			out, err := e.client.PutParameter(ctx, &sdk.PutParameterInput{Name: aws.String("/race"), Value: aws.String(fmt.Sprint(i)),
				Overwrite: aws.Bool(true)})
			if err != nil {
				t.Error(err)
				return
			}
			versions <- out.Version
		})
	}
	wg.Wait()
	close(versions)
	var got []int64
	for v := range versions {
		got = append(got, v)
	}
	slices.Sort(got)
	if want := []int64{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; !slices.Equal(got, want) {
		t.Fatalf("versions: %v, want %v", got, want)
	}
}

func TestUnsupportedOperations(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.client.SendCommand(context.Background(), &sdk.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript")})
	gatewaytest.WantError(t, err, "UnsupportedOperationException", "berth does not support SendCommand yet")
	_, err = e.client.DescribeDocument(context.Background(), &sdk.DescribeDocumentInput{Name: aws.String("doc")})
	gatewaytest.WantError(t, err, "UnsupportedOperationException", "berth does not support DescribeDocument yet")
}
