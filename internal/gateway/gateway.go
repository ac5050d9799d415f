// Package gateway is berth's single HTTP entry point. It serves the
// registry under /v2/, health and metrics under /_berth/health and /metrics,
// and treats every other request as an AWS API call: it verifies SigV4,
// routes by X-Amz-Target (awsJson1_1) or by credential scope and Action
// (awsQuery, ec2Query), decodes and validates the input against the
// service's API model, calls the typed handler and encodes the reply or the
// AWS error the way the real service does.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// MaxBodySize is the largest request body the gateway reads; larger ones
// get a 413 before anything is handled.
const MaxBodySize = 32 << 20

// Credentials resolves access keys. iam.Directory implements it.
type Credentials interface {
	// Secret returns the secret key and account of an access key id.
	Secret(accessKeyID string) (secret, accountID string, ok bool)
}

// SessionCredentials is implemented by Credentials that issue temporary
// keys (STS). For such a key the request must carry its session token, and
// is refused once the token has expired. Keys without a session (ok false)
// are long-term and need no token.
type SessionCredentials interface {
	Session(accessKeyID string) (token string, expires time.Time, ok bool)
}

// Callers is implemented by Credentials that know whose an access key is.
// For Credentials that do not, every key is the account's admin.
type Callers interface {
	Caller(accessKeyID string) (awsapi.Caller, bool)
}

// UseRecorder is implemented by Credentials that remember each key's last
// use (IAM's GetAccessKeyLastUsed and RoleLastUsed). RecordUse must not
// block: it is called on every authenticated call.
type UseRecorder interface {
	RecordUse(accessKeyID, service, region string)
}

// Authorizer decides whether a caller may do what a call asks
// (awsapi.Service.Access). A denial is an *awsapi.AccessDenied, which the
// gateway answers in the service's protocol; any other error is a failure
// to decide.
type Authorizer interface {
	Authorize(ctx context.Context, caller awsapi.Caller, accesses []awsapi.Access) error
}

// Config configures a Gateway.
type Config struct {
	// Region is berth's home region: RequestInfo.Region for requests whose
	// credential scope names no region (the region is never enforced).
	Region string
	// AccountID is the account for keys whose Credentials report none.
	AccountID   string
	Credentials Credentials
	// Authorizer, if set, authorizes every AWS API call but the admin
	// key's; nil lets every signed call through.
	Authorizer Authorizer
	// Services are the AWS API services the gateway routes to.
	Services []*awsapi.Service
	// Registry serves the OCI distribution API at /v2 and /v2/.
	Registry http.Handler
	// Internal are berth's own endpoints by path pattern (the agent
	// protocol, say). They do their own authentication.
	Internal map[string]http.Handler
	Logger   *slog.Logger
	// Registerer receives the gateway's metrics; Gatherer is served at
	// /metrics. When Gatherer is nil and Registerer is also a Gatherer (a
	// *prometheus.Registry), that is served; when both are nil the gateway
	// uses a private registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Ready reports whether berth can serve; nil means always ready.
	Ready func() bool
}

// Gateway is the HTTP handler for the whole port.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	byTarget map[string]*service
	// byScope holds the awsQuery and ec2Query services per SigV4 signing
	// name; several API versions may share one (elasticloadbalancing: ELB
	// and ELBv2).
	byScope map[string][]*service
	// byModel holds every service by its model's name, for Invoke.
	byModel map[string]*service
	targets string // served target prefixes, for error messages
	// serviceNames are the models' names of the AWS APIs served (the aws
	// CLI's commands), which health lists.
	serviceNames []string
	metrics      *metrics
	mux          *http.ServeMux
}

// service is an awsapi.Service with what the gateway derives from it once.
type service struct {
	*awsapi.Service
	apiVersion string
	namespace  string
	// queryErrors maps an error code or exception shape name to the wire
	// code and status of the model's awsQueryError trait.
	queryErrors map[string]queryError
}

type queryError struct {
	code   string
	status int
}

// New builds a Gateway, checking the services against their models.
func New(cfg Config) (*Gateway, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("gateway: Credentials is required")
	}
	g := &Gateway{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		byTarget: map[string]*service{},
		byScope:  map[string][]*service{},
		byModel:  map[string]*service{},
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	var prefixes []string
	for _, s := range cfg.Services {
		svc, err := newService(s)
		if err != nil {
			return nil, err
		}
		g.serviceNames = append(g.serviceNames, s.Model.Name)
		g.byModel[s.Model.Name] = svc
		switch s.Protocol {
		case awsapi.JSON11:
			if _, dup := g.byTarget[s.TargetPrefix]; dup {
				return nil, fmt.Errorf("gateway: two services with target prefix %q", s.TargetPrefix)
			}
			g.byTarget[s.TargetPrefix] = svc
			prefixes = append(prefixes, s.TargetPrefix)
		case awsapi.Query, awsapi.EC2:
			for _, other := range g.byScope[s.SigningName] {
				if other.apiVersion == svc.apiVersion {
					return nil, fmt.Errorf("gateway: two query services %s version %s", s.SigningName, svc.apiVersion)
				}
			}
			g.byScope[s.SigningName] = append(g.byScope[s.SigningName], svc)
		default:
			return nil, fmt.Errorf("gateway: service %s: unsupported protocol %q", s.SigningName, s.Protocol)
		}
	}
	sort.Strings(prefixes)
	sort.Strings(g.serviceNames)
	g.targets = strings.Join(prefixes, ", ")

	reg, gather := cfg.Registerer, cfg.Gatherer
	if reg == nil && gather == nil {
		r := prometheus.NewRegistry()
		reg, gather = r, r
	}
	if gather == nil {
		gather, _ = reg.(prometheus.Gatherer)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	g.metrics = m

	g.mux = http.NewServeMux()
	g.mux.HandleFunc("GET /_berth/health", g.health)
	if gather != nil {
		g.mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	}
	if cfg.Registry != nil {
		g.mux.Handle("/v2/", cfg.Registry)
		g.mux.Handle("/v2", cfg.Registry)
	}
	for pattern, h := range cfg.Internal {
		g.mux.Handle(pattern, h)
	}
	g.mux.HandleFunc("/", g.serveAWS)
	return g, nil
}

func newService(s *awsapi.Service) (*service, error) {
	if s.Model == nil {
		return nil, fmt.Errorf("gateway: service %s has no model", s.SigningName)
	}
	if s.SigningName == "" {
		return nil, errors.New("gateway: service without SigningName")
	}
	if s.Protocol == awsapi.JSON11 && s.TargetPrefix == "" {
		return nil, fmt.Errorf("gateway: service %s has no TargetPrefix", s.SigningName)
	}
	for name, op := range s.Operations {
		if s.Model.Operations[name] == nil {
			return nil, fmt.Errorf("gateway: service %s: operation %s is not in the model", s.SigningName, name)
		}
		if op.NewInput == nil || op.Call == nil {
			return nil, fmt.Errorf("gateway: service %s: operation %s is incomplete", s.SigningName, name)
		}
	}
	svc := &service{
		Service:     s,
		apiVersion:  s.Model.Metadata.APIVersion,
		namespace:   s.Model.Metadata.XMLNamespace,
		queryErrors: map[string]queryError{},
	}
	if s.Protocol == awsapi.EC2 && svc.namespace != "" && !strings.HasSuffix(svc.namespace, "/") {
		// EC2 sends its namespace with a trailing slash the model omits.
		svc.namespace += "/"
	}
	for name, shape := range s.Model.Shapes {
		if !shape.Exception || shape.Error == nil {
			continue
		}
		qe := queryError{code: shape.Error.Code, status: shape.Error.HTTPStatusCode}
		if qe.code == "" {
			qe.code = name
		}
		svc.queryErrors[name] = qe
		svc.queryErrors[qe.code] = qe
	}
	return svc, nil
}

// ServeHTTP implements http.Handler. Any Host is accepted: SDKs prepend
// prefixes such as "data-" even to a custom endpoint, so a client of
// http://localhost:4566 calls data-localhost:4566 (which needs a hosts
// entry, or the prefix turned off: botocore's inject_host_prefix=False,
// smithy-go's DisableEndpointHostPrefix).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mux.ServeHTTP(w, r)
}

func (g *Gateway) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if g.cfg.Ready != nil && !g.cfg.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unavailable"}` + "\n"))
		return
	}
	_ = json.NewEncoder(w).Encode(healthReport{Status: "ok", Services: g.serviceNames})
}

// healthReport is the health endpoint's answer when ready: the AWS APIs it
// serves, by the aws CLI's name for them, let a client (the CLI examples'
// replay, say) find what this berth implements.
type healthReport struct {
	Status   string   `json:"status"`
	Services []string `json:"services"`
}

// exchange is one AWS API call in flight.
type exchange struct {
	w        http.ResponseWriter
	r        *http.Request
	id       string
	start    time.Time
	protocol awsapi.Protocol
	svc      *service // nil until routed
	op       string   // operation name once known
	code     string   // error code sent, "" on success
	status   int
}

func (g *Gateway) serveAWS(w http.ResponseWriter, r *http.Request) {
	x := &exchange{w: w, r: r, id: uuid.NewString(), start: g.now(), protocol: awsapi.Query}
	w.Header()["x-amzn-RequestId"] = []string{x.id} // AWS's spelling, not canonicalised
	defer g.finish(x)
	if err := g.handleAWS(x); err != nil {
		g.fail(x, err)
	}
}

// handleAWS reads, authenticates, routes, decodes and dispatches one call
// and writes the success response; errors are written by the caller.
func (g *Gateway) handleAWS(x *exchange) error {
	r := x.r
	target := r.Header.Get("X-Amz-Target")
	if target != "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json") {
		x.protocol = awsapi.JSON11
	}
	var targetOp string
	if x.protocol == awsapi.JSON11 {
		prefix, op, _ := strings.Cut(target, ".")
		x.svc, targetOp = g.byTarget[prefix], op
	}

	query, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return &awsapi.Error{Code: "MalformedQueryString", Message: err.Error()}
	}
	body, tooBig, err := readBody(r)
	if err != nil {
		return awsapi.Errorf("IncompleteBody", "The request body could not be read")
	}
	if tooBig {
		code := "RequestEntityTooLarge"
		if x.protocol == awsapi.JSON11 {
			code += "Exception"
		}
		x.w.Header().Set("Connection", "close")
		return &awsapi.Error{Code: code, Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Request body must not be larger than %d bytes", MaxBodySize)}
	}
	// awsQuery (and ec2Query) parameters come from the query string and the
	// form body.
	var params []param
	if x.protocol == awsapi.Query {
		params = query
		if r.Method != http.MethodGet {
			form, err := parseQuery(string(body))
			if err != nil {
				return &awsapi.Error{Code: "MalformedQueryString", Message: err.Error()}
			}
			params = append(slices.Clip(query), form...)
		}
	}

	wantService := ""
	if x.svc != nil {
		wantService = x.svc.SigningName
	}
	id, aerr := g.authenticate(r, body, query, wantService)
	if aerr != nil {
		if x.protocol == awsapi.Query {
			x.route(g.guessQueryService(id.service, paramValue(params, "Version")))
		}
		return aerr.apiError(x.protocol)
	}

	if x.protocol == awsapi.JSON11 {
		if x.svc == nil {
			return awsapi.Errorf("UnknownOperationException",
				"No service handles X-Amz-Target %q; berth serves the target prefixes %s", target, g.targets)
		}
		x.op = targetOp
	} else {
		x.op = paramValue(params, "Action")
		svc, err := g.routeQuery(id.service, x.op, paramValue(params, "Version"))
		if err != nil {
			x.route(g.guessQueryService(id.service, ""))
			return err
		}
		x.route(svc)
	}
	op := x.svc.Model.Operations[x.op]
	if op == nil {
		switch x.protocol {
		case awsapi.JSON11:
			return awsapi.Errorf("UnknownOperationException", "Unknown operation %s for %s", x.op, x.svc.TargetPrefix)
		case awsapi.EC2:
			return awsapi.Errorf("InvalidAction", "The action %s is not valid for this web service.", x.op)
		}
		return awsapi.Errorf("InvalidAction", "Could not find operation %s for version %s", x.op, x.svc.apiVersion)
	}
	handler, ok := x.svc.Operations[x.op]
	if !ok {
		return x.svc.unsupported(x.op)
	}

	var in any
	if x.protocol == awsapi.JSON11 {
		in, err = decodeJSON(x.svc, op, body)
	} else {
		in, err = decodeQuery(x.svc, op, params)
	}
	if err != nil {
		return err
	}
	info := &awsapi.RequestInfo{
		RequestID:   x.id,
		AccountID:   id.account,
		Region:      id.region,
		AccessKeyID: id.accessKeyID,
		Caller:      id.caller,
		Service:     x.svc.SigningName,
		Operation:   x.op,
		Received:    x.start.UTC(),
		Endpoint:    requestEndpoint(r),
	}
	if info.AccountID == "" {
		info.AccountID = g.cfg.AccountID
	}
	if info.Region == "" {
		info.Region = g.cfg.Region
	}
	if uses, ok := g.cfg.Credentials.(UseRecorder); ok {
		uses.RecordUse(info.AccessKeyID, info.Service, info.Region)
	}
	ctx := awsapi.WithRequest(r.Context(), info)
	if err := g.authorize(ctx, x.svc, info, in); err != nil {
		return err
	}
	if x.protocol == awsapi.EC2 && dryRun(op, x.svc.Model, params) {
		return &awsapi.Error{Code: "DryRunOperation", Status: http.StatusPreconditionFailed,
			Message: "Request would have succeeded, but DryRun flag is set."}
	}
	out, err := g.call(ctx, handler, in)
	if err != nil {
		return err
	}
	switch x.protocol {
	case awsapi.JSON11:
		return writeJSONOutput(x, out)
	case awsapi.EC2:
		return writeXMLOutput(x, encodeEC2Response, ec2ContentType, op, out)
	}
	return writeXMLOutput(x, encodeQueryResponse, "text/xml", op, out)
}

// dryRun reports whether an ec2Query call asks only whether it would be
// allowed: its input's DryRun member is true. EC2 answers such a call,
// once authorized, without making it; so does berth, for every operation.
func dryRun(op *model.Operation, api *model.API, params []param) bool {
	in := api.Shapes[shapeName(op.Input)]
	if in == nil {
		return false
	}
	ref := in.Members["DryRun"]
	if ref == nil {
		return false
	}
	if s := api.Shapes[ref.Shape]; s == nil || s.Type != "boolean" {
		return false
	}
	// The input decoded, so the value is a boolean; the first of repeated
	// keys counts, as in decoding.
	return strings.EqualFold(paramValue(params, ec2Key("DryRun", ref)), "true")
}

// authorize asks the Authorizer whether the caller may make the call, in
// the terms the service's Access gives for it.
func (g *Gateway) authorize(ctx context.Context, svc *service, info *awsapi.RequestInfo, in any) error {
	if g.cfg.Authorizer == nil || info.Caller.Admin {
		return nil
	}
	var accesses []awsapi.Access
	if svc.Access != nil {
		var err error
		if accesses, err = svc.Access(ctx, info.Operation, in); err != nil {
			return err
		}
	}
	if accesses == nil {
		accesses = []awsapi.Access{{Action: svc.SigningName + ":" + info.Operation, Resource: "*"}}
	}
	err := g.cfg.Authorizer.Authorize(ctx, info.Caller, accesses)
	var denied *awsapi.AccessDenied
	if errors.As(err, &denied) {
		return denied.APIError(svc.Protocol)
	}
	return err
}

// routeQuery picks the awsQuery or ec2Query service for a credential scope
// service and API version.
func (g *Gateway) routeQuery(scope, action, version string) (*service, error) {
	candidates := g.byScope[scope]
	if len(candidates) == 0 {
		return nil, awsapi.Errorf("InvalidAction", "berth serves no query-protocol API signed for service %q", scope)
	}
	if action == "" {
		return nil, awsapi.Errorf("MissingAction", "Missing Action")
	}
	for _, svc := range candidates {
		if svc.apiVersion == version || (version == "" && len(candidates) == 1) {
			return svc, nil
		}
	}
	return nil, awsapi.Errorf("InvalidAction", "Could not find operation %s for version %s", action, version)
}

// guessQueryService picks the service whose XML namespace (and, for EC2,
// error document) an authentication error should carry: by credential
// scope when it parsed, else by the API version, or nil when neither is
// conclusive.
func (g *Gateway) guessQueryService(scope, version string) *service {
	var match *service
	for name, svcs := range g.byScope {
		for _, svc := range svcs {
			if (scope == "" || name == scope) && (version == "" || svc.apiVersion == version) {
				if match != nil {
					return nil
				}
				match = svc
			}
		}
	}
	return match
}

// call runs a handler, turning a panic into an internal error so one bad
// request cannot take the server down.
func (g *Gateway) call(ctx context.Context, op awsapi.Operation, in any) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v", p)
		}
	}()
	return op.Call(ctx, in)
}

func (s *service) unsupported(op string) *awsapi.Error {
	if s.Unsupported != nil {
		return s.Unsupported(op)
	}
	code := "UnsupportedOperation"
	if s.Protocol == awsapi.JSON11 {
		code += "Exception"
	}
	return awsapi.Errorf(code, "berth does not support %s yet", op)
}

func writeJSONOutput(x *exchange, out any) error {
	if stream, ok := out.(awsapi.StreamingOutput); ok {
		x.status = http.StatusOK
		x.w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		stream.WriteStream(x.r.Context(), x.w)
		return nil
	}
	body := []byte("{}")
	if !isNil(out) {
		b, err := json.Marshal(out)
		if err != nil {
			return fmt.Errorf("encode %s output: %w", x.op, err)
		}
		body = b
	}
	x.status = http.StatusOK
	x.w.Header().Set("Content-Type", jsonContentType)
	_, _ = x.w.Write(body)
	return nil
}

// writeXMLOutput writes the success response encode makes of out.
func writeXMLOutput(x *exchange, encode func(*service, *model.Operation, any, string) ([]byte, error),
	contentType string, op *model.Operation, out any) error {
	body, err := encode(x.svc, op, out, x.id)
	if err != nil {
		return fmt.Errorf("encode %s output: %w", x.op, err)
	}
	x.status = http.StatusOK
	x.w.Header().Set("Content-Type", contentType)
	_, _ = x.w.Write(body)
	return nil
}

// fail writes err in the exchange's protocol. Errors that are not
// *awsapi.Error (a handler's panic, an error no service's ErrorTable
// mapped, the gateway's own) are internal: logged in full, answered
// without detail.
func (g *Gateway) fail(x *exchange, err error) {
	var aerr *awsapi.Error
	if !errors.As(err, &aerr) {
		g.log.ErrorContext(x.r.Context(), "aws request failed", "request_id", x.id,
			"service", x.serviceName(), "operation", x.op, "error", err)
		aerr = awsapi.InternalFailure()
	}
	switch x.protocol {
	case awsapi.JSON11:
		x.code, x.status = aerr.Code, aerr.HTTPStatus()
		writeJSONError(x.w, aerr)
	case awsapi.EC2:
		x.code, x.status = aerr.Code, aerr.HTTPStatus()
		writeEC2Error(x.w, aerr, x.id)
	default:
		x.code, x.status = writeQueryError(x.w, x.svc, aerr, x.id)
	}
}

func (g *Gateway) finish(x *exchange) {
	elapsed := g.now().Sub(x.start)
	svc, op := x.serviceName(), "unknown"
	if x.svc != nil && x.svc.Model.Operations[x.op] != nil {
		op = x.op // only modelled names, so clients cannot grow the label set
	}
	g.metrics.observe(svc, op, x.code, elapsed)
	g.log.DebugContext(x.r.Context(), "aws request", "request_id", x.id, "service", svc,
		"operation", x.op, "status", x.status, "error_code", x.code, "duration", elapsed)
}

// route records the service a query-form request is for; an ec2Query
// service's requests are answered in its protocol from then on.
func (x *exchange) route(svc *service) {
	x.svc = svc
	if svc != nil {
		x.protocol = svc.Protocol
	}
}

func (x *exchange) serviceName() string {
	if x.svc == nil {
		return "unknown"
	}
	return x.svc.SigningName
}

// isNil reports whether a handler's output is absent, including a typed nil
// pointer wrapped in the interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// requestEndpoint is the base URL the client addressed: its scheme and
// the Host it sent, which is how the client reaches this server.
func requestEndpoint(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
