package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

const (
	testKey     = "AKIDEXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testAccount = "123456789012"
	ecrTarget   = "AmazonEC2ContainerRegistry_V20150921"
	elbVersion  = "2015-12-01"
)

// testNow is the fixture clock: requests are signed relative to it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// keys implements Credentials, and SessionCredentials for the keys in
// sessions.
type keys struct {
	secrets  map[string]string
	sessions map[string]session
}

type session struct {
	token   string
	expires time.Time
}

func (k keys) Secret(id string) (string, string, bool) {
	s, ok := k.secrets[id]
	return s, testAccount, ok
}

func (k keys) Session(id string) (string, time.Time, bool) {
	s, ok := k.sessions[id]
	return s.token, s.expires, ok
}

// --- hand-written ECR types (json tags are the model's member names) ---

type ecrTag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

type scanningConfig struct {
	ScanOnPush *bool `json:"scanOnPush,omitempty"`
}

type createRepositoryInput struct {
	RegistryID                 *string         `json:"registryId,omitempty"`
	RepositoryName             *string         `json:"repositoryName,omitempty"`
	Tags                       []ecrTag        `json:"tags,omitempty"`
	ImageTagMutability         *string         `json:"imageTagMutability,omitempty"`
	ImageScanningConfiguration *scanningConfig `json:"imageScanningConfiguration,omitempty"`
}

type repository struct {
	RepositoryArn              *string           `json:"repositoryArn,omitempty"`
	RegistryID                 *string           `json:"registryId,omitempty"`
	RepositoryName             *string           `json:"repositoryName,omitempty"`
	RepositoryURI              *string           `json:"repositoryUri,omitempty"`
	CreatedAt                  *awsapi.Timestamp `json:"createdAt,omitempty"`
	ImageTagMutability         *string           `json:"imageTagMutability,omitempty"`
	ImageScanningConfiguration *scanningConfig   `json:"imageScanningConfiguration,omitempty"`
}

type createRepositoryOutput struct {
	Repository *repository `json:"repository,omitempty"`
}

type describeRepositoriesInput struct {
	RepositoryNames []string `json:"repositoryNames,omitempty"`
	MaxResults      *int32   `json:"maxResults,omitempty"`
	NextToken       *string  `json:"nextToken,omitempty"`
}

type describeRepositoriesOutput struct {
	Repositories []repository `json:"repositories,omitempty"`
	NextToken    *string      `json:"nextToken,omitempty"`
}

type imageIdentifier struct {
	ImageDigest *string `json:"imageDigest,omitempty"`
	ImageTag    *string `json:"imageTag,omitempty"`
}

type batchDeleteImageInput struct {
	RepositoryName *string           `json:"repositoryName,omitempty"`
	ImageIds       []imageIdentifier `json:"imageIds,omitempty"`
}

type batchDeleteImageOutput struct {
	ImageIds []imageIdentifier `json:"imageIds,omitempty"`
}

// repoCreated is when the fake ECR says repositories were created; the
// milliseconds check the timestamp wire form.
var repoCreated = time.Date(2026, 2, 3, 4, 5, 6, 789e6, time.UTC)

// recorder keeps the RequestInfo the last handler saw.
type recorder struct {
	mu   sync.Mutex
	info awsapi.RequestInfo
}

func (r *recorder) record(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info = *awsapi.RequestFrom(ctx)
}

func (r *recorder) last() awsapi.RequestInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

func newECRService(rec *recorder) *awsapi.Service {
	return &awsapi.Service{
		SigningName:  "ecr",
		TargetPrefix: ecrTarget,
		Protocol:     awsapi.JSON11,
		Model:        model.MustLoad("ecr"),
		Operations: map[string]awsapi.Operation{
			"CreateRepository": awsapi.Op(func(ctx context.Context, in *createRepositoryInput) (*createRepositoryOutput, error) {
				rec.record(ctx)
				switch awsapi.Deref(in.RepositoryName) {
				case "exists":
					return nil, awsapi.Errorf("RepositoryAlreadyExistsException",
						"The repository with name 'exists' already exists in the registry with id '%s'", testAccount)
				case "boom":
					return nil, errors.New("disk on fire at /var/lib/berth")
				case "panic":
					panic("handler bug")
				case "empty":
					return nil, nil
				}
				return &createRepositoryOutput{Repository: &repository{
					RepositoryName:             in.RepositoryName,
					RegistryID:                 aws.String(awsapi.RequestFrom(ctx).AccountID),
					CreatedAt:                  awsapi.Time(repoCreated),
					ImageTagMutability:         in.ImageTagMutability,
					ImageScanningConfiguration: in.ImageScanningConfiguration,
				}}, nil
			}),
			"DescribeRepositories": awsapi.Op(func(ctx context.Context, in *describeRepositoriesInput) (*describeRepositoriesOutput, error) {
				rec.record(ctx)
				out := &describeRepositoriesOutput{}
				for _, name := range in.RepositoryNames {
					out.Repositories = append(out.Repositories, repository{
						RepositoryName: aws.String(name), CreatedAt: awsapi.Time(repoCreated)})
				}
				return out, nil
			}),
			"BatchDeleteImage": awsapi.Op(func(ctx context.Context, in *batchDeleteImageInput) (*batchDeleteImageOutput, error) {
				return &batchDeleteImageOutput{ImageIds: in.ImageIds}, nil
			}),
		},
	}
}

// --- hand-written ELBv2 types ---

type elbTag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

type subnetMapping struct {
	SubnetID     *string `json:"SubnetId,omitempty"`
	AllocationID *string `json:"AllocationId,omitempty"`
}

type createLoadBalancerInput struct {
	Name           *string         `json:"Name,omitempty"`
	Subnets        []string        `json:"Subnets,omitempty"`
	SubnetMappings []subnetMapping `json:"SubnetMappings,omitempty"`
	SecurityGroups []string        `json:"SecurityGroups"`
	Scheme         *string         `json:"Scheme,omitempty"`
	Tags           []elbTag        `json:"Tags,omitempty"`
	Type           *string         `json:"Type,omitempty"`
}

type loadBalancerState struct {
	Code   *string `json:"Code,omitempty"`
	Reason *string `json:"Reason,omitempty"`
}

type availabilityZone struct {
	ZoneName *string `json:"ZoneName,omitempty"`
	SubnetID *string `json:"SubnetId,omitempty"`
}

type loadBalancer struct {
	LoadBalancerArn   *string            `json:"LoadBalancerArn,omitempty"`
	DNSName           *string            `json:"DNSName,omitempty"`
	CreatedTime       *awsapi.Timestamp  `json:"CreatedTime,omitempty"`
	LoadBalancerName  *string            `json:"LoadBalancerName,omitempty"`
	Scheme            *string            `json:"Scheme,omitempty"`
	State             *loadBalancerState `json:"State,omitempty"`
	Type              *string            `json:"Type,omitempty"`
	AvailabilityZones []availabilityZone `json:"AvailabilityZones,omitempty"`
	SecurityGroups    []string           `json:"SecurityGroups"`
	// NotInModel must never reach the XML.
	NotInModel *string `json:"NotInModel,omitempty"`
}

type createLoadBalancerOutput struct {
	LoadBalancers []loadBalancer `json:"LoadBalancers,omitempty"`
}

type oidcConfig struct {
	Issuer                           *string           `json:"Issuer,omitempty"`
	ClientID                         *string           `json:"ClientId,omitempty"`
	AuthenticationRequestExtraParams map[string]string `json:"AuthenticationRequestExtraParams,omitempty"`
}

type action struct {
	Type                   *string     `json:"Type,omitempty"`
	Order                  *int32      `json:"Order,omitempty"`
	TargetGroupArn         *string     `json:"TargetGroupArn,omitempty"`
	AuthenticateOidcConfig *oidcConfig `json:"AuthenticateOidcConfig,omitempty"`
}

type createListenerInput struct {
	LoadBalancerArn *string  `json:"LoadBalancerArn,omitempty"`
	Protocol        *string  `json:"Protocol,omitempty"`
	Port            *int32   `json:"Port,omitempty"`
	DefaultActions  []action `json:"DefaultActions,omitempty"`
}

type listener struct {
	ListenerArn     *string  `json:"ListenerArn,omitempty"`
	Port            *int32   `json:"Port,omitempty"`
	Protocol        *string  `json:"Protocol,omitempty"`
	DefaultActions  []action `json:"DefaultActions,omitempty"`
	LoadBalancerArn *string  `json:"LoadBalancerArn,omitempty"`
}

type createListenerOutput struct {
	Listeners []listener `json:"Listeners,omitempty"`
}

type describeLoadBalancersInput struct {
	Names    []string `json:"Names,omitempty"`
	PageSize *int32   `json:"PageSize,omitempty"`
}

func newELBv2Service(rec *recorder) *awsapi.Service {
	return &awsapi.Service{
		SigningName: "elasticloadbalancing",
		Protocol:    awsapi.Query,
		Model:       model.MustLoad("elbv2"),
		Operations: map[string]awsapi.Operation{
			"CreateLoadBalancer": awsapi.Op(func(ctx context.Context, in *createLoadBalancerInput) (*createLoadBalancerOutput, error) {
				rec.record(ctx)
				switch awsapi.Deref(in.Name) {
				case "dup":
					return nil, awsapi.Errorf("DuplicateLoadBalancerNameException", "A load balancer with the same name 'dup' exists, but with different settings")
				case "busy":
					return nil, &awsapi.Error{Code: "PriorRequestNotComplete", Message: "try later <soon> & again"}
				case "unhealthy":
					return nil, awsapi.Errorf("HealthUnavailableException", "health is unavailable")
				case "boom":
					return nil, errors.New("secret internal detail")
				}
				lb := loadBalancer{
					LoadBalancerArn:  aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/" + *in.Name + "/50dc6c495c0c9188"),
					DNSName:          aws.String(*in.Name + "-1234567890.us-east-1.elb.amazonaws.com"),
					CreatedTime:      awsapi.Time(repoCreated),
					LoadBalancerName: in.Name,
					Scheme:           in.Scheme,
					State:            &loadBalancerState{Code: aws.String("provisioning")},
					Type:             in.Type,
					SecurityGroups:   in.SecurityGroups,
					NotInModel:       aws.String("leak"),
				}
				for _, m := range in.SubnetMappings {
					lb.AvailabilityZones = append(lb.AvailabilityZones, availabilityZone{SubnetID: m.SubnetID, ZoneName: aws.String("us-east-1a")})
				}
				for _, s := range in.Subnets {
					lb.AvailabilityZones = append(lb.AvailabilityZones, availabilityZone{SubnetID: aws.String(s), ZoneName: aws.String("us-east-1b")})
				}
				return &createLoadBalancerOutput{LoadBalancers: []loadBalancer{lb}}, nil
			}),
			"CreateListener": awsapi.Op(func(ctx context.Context, in *createListenerInput) (*createListenerOutput, error) {
				return &createListenerOutput{Listeners: []listener{{
					ListenerArn:     aws.String(awsapi.Deref(in.LoadBalancerArn) + "/listener"),
					Port:            in.Port,
					Protocol:        in.Protocol,
					DefaultActions:  in.DefaultActions,
					LoadBalancerArn: in.LoadBalancerArn,
				}}}, nil
			}),
			"DescribeLoadBalancers": awsapi.Op(func(ctx context.Context, in *describeLoadBalancersInput) (*createLoadBalancerOutput, error) {
				rec.record(ctx)
				out := &createLoadBalancerOutput{}
				for _, n := range in.Names {
					out.LoadBalancers = append(out.LoadBalancers, loadBalancer{LoadBalancerName: aws.String(n)})
				}
				return out, nil
			}),
			"DeleteLoadBalancer": awsapi.Op(func(ctx context.Context, in *struct{}) (*struct{}, error) {
				return nil, nil
			}),
		},
	}
}

// fixture is a gateway on a test server with the fake ECR and ELBv2.
type fixture struct {
	t        *testing.T
	gw       *Gateway
	srv      *httptest.Server
	rec      *recorder
	reg      *prometheus.Registry
	now      time.Time
	keys     keys
	ready    bool
	services []*awsapi.Service
	logs     *syncBuffer
}

// syncBuffer collects the gateway's log lines, written from server
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t *testing.T, opts ...func(*fixture, *Config)) *fixture {
	t.Helper()
	f := &fixture{
		t:     t,
		rec:   &recorder{},
		reg:   prometheus.NewRegistry(),
		now:   testNow,
		keys:  keys{secrets: map[string]string{testKey: testSecret}},
		ready: true,
		logs:  &syncBuffer{},
	}
	f.services = []*awsapi.Service{newECRService(f.rec), newELBv2Service(f.rec)}
	cfg := Config{
		Region:      "us-east-1",
		AccountID:   testAccount,
		Credentials: f.keys,
		Services:    f.services,
		Registry: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "registry:"+r.URL.Path)
		}),
		Registerer: f.reg,
		Logger:     slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return f.now },
		Ready:      func() bool { return f.ready },
	}
	for _, o := range opts {
		o(f, &cfg)
	}
	gw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.gw = gw
	f.srv = httptest.NewServer(gw)
	t.Cleanup(f.srv.Close)
	return f
}

func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// signOpts varies one thing about how a test request is signed.
type signOpts struct {
	key, secret, token string
	service, region    string
	at                 time.Time
}

func (f *fixture) opts() signOpts {
	return signOpts{key: testKey, secret: testSecret, service: "ecr", region: "eu-west-1", at: f.now}
}

func (o signOpts) creds() aws.Credentials {
	return aws.Credentials{AccessKeyID: o.key, SecretAccessKey: o.secret, SessionToken: o.token}
}

// jsonRequest builds an unsigned awsJson1_1 request.
func (f *fixture) jsonRequest(op, body string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", jsonContentType)
	req.Header.Set("X-Amz-Target", ecrTarget+"."+op)
	return req
}

// queryRequest builds an unsigned awsQuery form POST.
func (f *fixture) queryRequest(form string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/", strings.NewReader(form))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return req
}

func (f *fixture) sign(req *http.Request, o signOpts) *http.Request {
	f.t.Helper()
	body := readAll(f.t, req)
	// A fresh signer each time: the SDK caches signing keys by access key,
	// not secret, which would hide a wrong secret.
	if err := v4.NewSigner().SignHTTP(context.Background(), o.creds(), req, payloadHash(body), o.service, o.region, o.at); err != nil {
		f.t.Fatal(err)
	}
	return req
}

// presigner keeps headers such as X-Amz-Target as signed headers instead
// of hoisting them into the query string.
var presigner = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })

func (f *fixture) presign(req *http.Request, o signOpts, expires time.Duration) *http.Request {
	f.t.Helper()
	body := readAll(f.t, req)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires.Seconds())))
	req.URL.RawQuery = q.Encode()
	signed, hdr, err := presigner.PresignHTTP(context.Background(), o.creds(), req, payloadHash(body), o.service, o.region, o.at)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := http.NewRequest(req.Method, signed, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		if !strings.EqualFold(k, "host") {
			out.Header[k] = v
		}
	}
	return out
}

// readAll reads and restores a request body.
func readAll(t *testing.T, req *http.Request) []byte {
	t.Helper()
	if req.Body == nil {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	return body
}

func (f *fixture) do(req *http.Request) (*http.Response, []byte) {
	f.t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, body
}

type jsonError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// wantJSONError checks an awsJson1_1 error answer.
func wantJSONError(t *testing.T, resp *http.Response, body []byte, status int, code, message string) {
	t.Helper()
	var e jsonError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if resp.StatusCode != status || e.Type != code {
		t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, e.Type, e.Message, status, code)
	}
	if message != "" && e.Message != message {
		t.Fatalf("message\n got %q\nwant %q", e.Message, message)
	}
	if ct := resp.Header.Get("Content-Type"); ct != jsonContentType {
		t.Fatalf("Content-Type %q", ct)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatal("no x-amzn-RequestId")
	}
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// wantQueryError checks an awsQuery error answer and returns it.
func wantQueryError(t *testing.T, resp *http.Response, body []byte, status int, code, message string) queryErrorResponse {
	t.Helper()
	var e queryErrorResponse
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if resp.StatusCode != status || e.Error.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, e.Error.Code, e.Error.Message, status, code)
	}
	if message != "" && e.Error.Message != message {
		t.Fatalf("message\n got %q\nwant %q", e.Error.Message, message)
	}
	if e.RequestID == "" || e.RequestID != resp.Header.Get("x-amzn-RequestId") {
		t.Fatalf("RequestId %q, header %q", e.RequestID, resp.Header.Get("x-amzn-RequestId"))
	}
	wantType := "Sender"
	if status >= 500 {
		wantType = "Receiver"
	}
	if e.Error.Type != wantType {
		t.Fatalf("Type %q, want %q", e.Error.Type, wantType)
	}
	return e
}
