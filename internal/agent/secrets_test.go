package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

const (
	dbSecretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"
	apiKeyARN   = "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"
)

// fakeSecrets is a secretReader over fixed values; a value missing from
// secrets answers ResourceNotFoundException.
type fakeSecrets struct {
	mu      sync.Mutex
	secrets map[string]string // by "<arn>|<stage>|<version id>"
	params  map[string]string // by name or ARN
	deny    bool
	asked   []string
}

func (f *fakeSecrets) secretString(_ context.Context, region, arn, stage, versionID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, region+" "+arn)
	if f.deny {
		return "", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/exec/t is not authorized to perform: secretsmanager:GetSecretValue on resource: " + arn}
	}
	v, ok := f.secrets[arn+"|"+stage+"|"+versionID]
	if !ok {
		return "", &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}
	}
	return v, nil
}

func (f *fakeSecrets) parameters(_ context.Context, region string, names []string) (map[string]string, []string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, region+" "+strings.Join(names, ","))
	values := map[string]string{}
	var invalid []string
	for _, n := range names {
		if v, ok := f.params[n]; ok {
			values[n] = v
		} else {
			invalid = append(invalid, n)
		}
	}
	return values, invalid, nil
}

func secret(name, from string) ecstypes.Secret {
	return ecstypes.Secret{Name: awsapi.String(name), ValueFrom: awsapi.String(from)}
}

func TestResolveSecrets(t *testing.T) {
	reader := &fakeSecrets{
		secrets: map[string]string{
			dbSecretARN + "||":            "hunter2",
			dbSecretARN + "|AWSPREVIOUS|": "older",
			dbSecretARN + "||v-123":       "pinned",
			"arn:aws:secretsmanager:eu-west-1:123456789012:secret:json-AbCdEf||": `{"username":"admin","port":5432}`,
		},
		params: map[string]string{apiKeyARN: "k-1", "plain": "p-1"},
	}
	ctx := context.Background()
	got, err := resolveSecrets(ctx, reader, []ecstypes.Secret{
		secret("DB_PASSWORD", dbSecretARN),
		secret("DB_OLD", dbSecretARN+"::AWSPREVIOUS:"),
		secret("DB_PINNED", dbSecretARN+":::v-123"),
		secret("DB_USER", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:json-AbCdEf:username::"),
		secret("DB_PORT", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:json-AbCdEf:port::"),
		secret("API_KEY", apiKeyARN),
		secret("PLAIN", "plain"),
	}, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"DB_PASSWORD": "hunter2", "DB_OLD": "older", "DB_PINNED": "pinned", "DB_USER": "admin", "DB_PORT": "5432", "API_KEY": "k-1", "PLAIN": "p-1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if !slices.Contains(reader.asked, "eu-west-1 arn:aws:secretsmanager:eu-west-1:123456789012:secret:json-AbCdEf") {
		t.Errorf("the secret's own region was not asked: %v", reader.asked)
	}

	for name, tc := range map[string]struct {
		secrets []ecstypes.Secret
		deny    bool
		want    string
	}{
		"missing secret": {[]ecstypes.Secret{secret("X", dbSecretARN+"-gone")}, false,
			secretsFailurePrefix + "unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret " + dbSecretARN + "-gone from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret."},
		"denied": {[]ecstypes.Secret{secret("X", dbSecretARN)}, true,
			secretsFailurePrefix + "unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret " + dbSecretARN + " from secrets manager: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/exec/t is not authorized to perform: secretsmanager:GetSecretValue on resource: " + dbSecretARN},
		"missing json key": {[]ecstypes.Secret{secret("X", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:json-AbCdEf:password::")}, false,
			secretsFailurePrefix + "unable to retrieve secret from asm: service call has been retried 1 time(s): retrieved secret from Secrets Manager did not contain json key password"},
		"not json": {[]ecstypes.Secret{secret("X", dbSecretARN+":key::")}, false,
			secretsFailurePrefix + "unable to retrieve secret from asm: service call has been retried 1 time(s): failed to unmarshal secret " + dbSecretARN + ": the secret is not a JSON object"},
		"missing parameter": {[]ecstypes.Secret{secret("X", "/nope")}, false,
			secretsFailurePrefix + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: /nope"},
	} {
		reader.deny = tc.deny
		_, err := resolveSecrets(ctx, reader, tc.secrets, "us-east-1")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: a value in the reason", name)
		}
	}
}

func TestWithSecrets(t *testing.T) {
	got := withSecrets([]string{"A=1", "DB=plain", "B=2"}, map[string]string{"DB": "s", "API": "k"})
	if want := []string{"A=1", "B=2", "API=k", "DB=s"}; !slices.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

// credentialsServer answers the agent's credentials requests for the
// roles it knows, counting them.
func credentialsServer(t *testing.T, roles map[string]string) (*httptest.Server, *[]agentproto.CredentialsRequest) {
	var mu sync.Mutex
	var asked []agentproto.CredentialsRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req agentproto.CredentialsRequest
		if r.URL.Path != agentproto.CredentialsPath || r.Header.Get("Authorization") != "Bearer tok" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		asked = append(asked, req)
		mu.Unlock()
		role, ok := roles[req.Role]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(agentproto.CredentialsError{Code: agentproto.CredentialsNoRole, Message: "the task has no " + req.Role + " role"})
			return
		}
		json.NewEncoder(w).Encode(agentproto.RoleCredentials{RoleArn: role, AccessKeyID: "ASIA" + strings.ToUpper(req.Role), SecretAccessKey: "s", Token: "t",
			Expiration: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

func TestContainerSecretsReachTheEnvironment(t *testing.T) {
	srv, _ := credentialsServer(t, map[string]string{agentproto.ExecutionRole: "arn:aws:iam::123456789012:role/exec"})
	dt := desiredTask("", cdef("app", func(cd *ecstypes.ContainerDefinition) {
		cd.Environment = []ecstypes.KeyValuePair{kv("APP_ENV", "production")}
		cd.Secrets = []ecstypes.Secret{secret("DB_PASSWORD", dbSecretARN), secret("API_KEY", apiKeyARN)}
	}))
	dt.Spec.Definition.ExecutionRoleArn = awsapi.String("arn:aws:iam::123456789012:role/exec")
	fr := runnable(dt)
	h := newHarness(t, fr, t.TempDir(), srv.URL)
	reader := &fakeSecrets{secrets: map[string]string{dbSecretARN + "||": "hunter2"}, params: map[string]string{apiKeyARN: "k-1"}}
	var usedKey string
	h.a.secretReaderFor = func(c agentproto.RoleCredentials) secretReader { usedKey = c.AccessKeyID; return reader }
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitLast(testTaskID, "RUNNING")
	spec, _ := fr.createdSpec("app")
	if !slices.Contains(spec.Env, "DB_PASSWORD=hunter2") || !slices.Contains(spec.Env, "API_KEY=k-1") || !slices.Contains(spec.Env, "APP_ENV=production") {
		t.Fatalf("env %v", spec.Env)
	}
	if usedKey != "ASIAEXECUTION" {
		t.Fatalf("secrets read with %q, not the execution role's key", usedKey)
	}
}

func TestUnreadableSecretStopsTheTask(t *testing.T) {
	srv, _ := credentialsServer(t, map[string]string{agentproto.ExecutionRole: "arn:aws:iam::123456789012:role/exec"})
	dt := desiredTask("", cdef("app", func(cd *ecstypes.ContainerDefinition) {
		cd.Secrets = []ecstypes.Secret{secret("DB_PASSWORD", dbSecretARN)}
	}))
	dt.Spec.Definition.ExecutionRoleArn = awsapi.String("arn:aws:iam::123456789012:role/exec")
	fr := runnable(dt)
	h := newHarness(t, fr, t.TempDir(), srv.URL)
	h.a.secretReaderFor = func(agentproto.RoleCredentials) secretReader { return &fakeSecrets{deny: true} }
	h.start(nil)
	h.a.applyDesired(dt, false)
	st := h.waitLast(testTaskID, "STOPPED")
	if st.StopCode != "TaskFailedToStart" || !strings.HasPrefix(st.StoppedReason, secretsFailurePrefix) ||
		!strings.Contains(st.StoppedReason, "AccessDeniedException") || !strings.Contains(st.StoppedReason, dbSecretARN) {
		t.Fatalf("stop %q %q", st.StopCode, st.StoppedReason)
	}
	if _, created := fr.createdSpec("app"); created {
		t.Fatal("the container was created without its secret")
	}
}

func TestCredentialsEndpointServesOnlyItsTask(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/app"
	srv, asked := credentialsServer(t, map[string]string{agentproto.TaskRole: role})
	dt := desiredTask("", cdef("app"))
	dt.Spec.Definition.TaskRoleArn = awsapi.String(role)
	fr := runnable(dt)
	h := newHarness(t, fr, t.TempDir(), srv.URL)
	h.start(nil)
	h.a.applyDesired(dt, false)
	h.waitLast(testTaskID, "RUNNING")
	plan := h.a.runnerFor(dt.Spec.Containers[0].ID).currentView()
	id, holderIP := plan.plan.CredentialsID, plan.plan.Interface.Address.Addr().String()

	get := func(path, from string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = from + ":40000"
		rec := httptest.NewRecorder()
		h.a.MetadataHandler().ServeHTTP(rec, req)
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	code, body := get(credentialsPathPrefix+id, holderIP)
	if code != http.StatusOK || body["RoleArn"] != role || body["AccessKeyId"] != "ASIATASK" || body["Token"] != "t" || body["Expiration"] != "2030-01-01T00:00:00Z" {
		t.Fatalf("credentials: %d %v", code, body)
	}
	if (*asked)[0].TaskARN != dt.ARN || (*asked)[0].Role != agentproto.TaskRole {
		t.Fatalf("asked the server %+v", *asked)
	}
	// From another address (another task) or with another id: nothing.
	if code, body := get(credentialsPathPrefix+id, "169.254.172.99"); code != http.StatusBadRequest || body["code"] != "InvalidIdInRequest" {
		t.Fatalf("another task's request: %d %v", code, body)
	}
	if code, _ := get(credentialsPathPrefix+"00000000-0000-0000-0000-000000000000", holderIP); code != http.StatusBadRequest {
		t.Fatalf("unknown id: %d", code)
	}
	if code, _ := get(credentialsPathPrefix+dt.Spec.Containers[0].ID, holderIP); code != http.StatusBadRequest {
		t.Fatalf("a container id as credentials id: %d", code)
	}
}

func TestAPIProxy(t *testing.T) {
	var gotHost, gotPath string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotPath = r.Host, r.URL.Path
		w.Write([]byte("ok"))
	}))
	t.Cleanup(backend.Close)
	proxy, err := apiProxy(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "http://169.254.170.2/", strings.NewReader("{}"))
	rec := httptest.NewRecorder()
	proxy.ServeHTTP(rec, req)
	if rec.Code != 200 || gotHost != "169.254.170.2" || gotPath != "/" {
		t.Fatalf("proxied %d to host %q path %q", rec.Code, gotHost, gotPath)
	}
	rec = httptest.NewRecorder()
	proxy.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://169.254.170.2/_berth/agent/credentials", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("berth's own endpoint proxied: %d", rec.Code)
	}
}
