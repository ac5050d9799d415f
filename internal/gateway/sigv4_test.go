package gateway

import (
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth/berth/internal/awsapi"
)

// protocol is one side of the auth table: how to build a request for it
// and how it answers.
type protocol struct {
	name    string
	service string
	request func(f *fixture) *http.Request
	check   func(t *testing.T, resp *http.Response, body []byte, w want)
}

type want struct {
	status  int
	code    string
	message string
}

var (
	jsonProtocol = protocol{
		name:    "json",
		service: "ecr",
		request: func(f *fixture) *http.Request {
			return f.jsonRequest("CreateRepository", `{"repositoryName":"my-repo"}`)
		},
		check: func(t *testing.T, resp *http.Response, body []byte, w want) {
			wantJSONError(t, resp, body, w.status, w.code, w.message)
		},
	}
	queryProtocol = protocol{
		name:    "query",
		service: "elasticloadbalancing",
		request: func(f *fixture) *http.Request {
			return f.queryRequest("Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=web")
		},
		check: func(t *testing.T, resp *http.Response, body []byte, w want) {
			e := wantQueryError(t, resp, body, w.status, w.code, w.message)
			if e.XMLName.Space != "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/" {
				t.Fatalf("namespace %q", e.XMLName.Space)
			}
		},
	}
)

func TestAuthAccepts(t *testing.T) {
	for _, p := range []protocol{jsonProtocol, queryProtocol} {
		cases := map[string]func(f *fixture, o signOpts) *http.Request{
			"header": func(f *fixture, o signOpts) *http.Request { return f.sign(p.request(f), o) },
			"presigned": func(f *fixture, o signOpts) *http.Request {
				req := p.request(f)
				body := readAll(t, req)
				q := req.URL.Query()
				q.Set("X-Amz-Expires", "300")
				req.URL.RawQuery = q.Encode()
				u, hdr, err := presigner.PresignHTTP(t.Context(), o.creds(), req, payloadHash(body), o.service, o.region, o.at.Add(-4*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				out, _ := http.NewRequest(req.Method, u, strings.NewReader(string(body)))
				for k, v := range hdr {
					if !strings.EqualFold(k, "host") {
						out.Header[k] = v
					}
				}
				return out
			},
			"presigned GET": func(f *fixture, o signOpts) *http.Request {
				if p.name == "json" {
					return f.sign(p.request(f), o)
				}
				req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/?Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=web&X-Amz-Expires=60", nil)
				u, _, err := presigner.PresignHTTP(t.Context(), o.creds(), req, payloadHash(nil), o.service, o.region, o.at)
				if err != nil {
					t.Fatal(err)
				}
				out, _ := http.NewRequest(http.MethodGet, u, nil)
				return out
			},
			"unsigned payload": func(f *fixture, o signOpts) *http.Request {
				req := p.request(f)
				req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
				if err := v4.NewSigner().SignHTTP(t.Context(), o.creds(), req, "UNSIGNED-PAYLOAD", o.service, o.region, o.at); err != nil {
					t.Fatal(err)
				}
				return req
			},
			"content sha256": func(f *fixture, o signOpts) *http.Request {
				req := p.request(f)
				req.Header.Set("X-Amz-Content-Sha256", payloadHash(readAll(t, req)))
				return f.sign(req, o)
			},
			"host prefix and skew": func(f *fixture, o signOpts) *http.Request {
				req := p.request(f)
				req.Host = "data-localhost:4566"
				o.at = o.at.Add(14 * time.Minute)
				return f.sign(req, o)
			},
			"date header": func(f *fixture, o signOpts) *http.Request {
				req := f.sign(p.request(f), o)
				// Re-sign by hand with Date instead of X-Amz-Date.
				req.Header.Del("X-Amz-Date")
				req.Header.Set("Date", o.at.Format(http.TimeFormat))
				return handSign(t, req, o, "date;host")
			},
		}
		for name, build := range cases {
			t.Run(p.name+"/"+name, func(t *testing.T) {
				f := newFixture(t)
				o := f.opts()
				o.service = p.service
				resp, body := f.do(build(f, o))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				info := f.rec.last()
				if info.Region != "eu-west-1" || info.AccountID != testAccount || info.AccessKeyID != testKey ||
					info.Service != p.service || info.RequestID != resp.Header.Get("x-amzn-RequestId") || !info.Received.Equal(testNow) {
					t.Fatalf("request info %+v", info)
				}
			})
		}
	}
}

// handSign signs req by hand with the given signed headers, for forms the
// SDK signer never produces (a Date header instead of X-Amz-Date).
func handSign(t *testing.T, req *http.Request, o signOpts, signedHeaders string) *http.Request {
	t.Helper()
	body := readAll(t, req)
	names := strings.Split(signedHeaders, ";")
	var canon strings.Builder
	canon.WriteString(req.Method + "\n/\n" + req.URL.RawQuery + "\n")
	for _, n := range names {
		v := req.Header.Get(n)
		if n == "host" {
			v = req.URL.Host
			if req.Host != "" {
				v = req.Host
			}
		}
		canon.WriteString(n + ":" + v + "\n")
	}
	canon.WriteString("\n" + signedHeaders + "\n" + payloadHash(body))
	sc := scope{o.key, o.at.Format("20060102"), o.region, o.service, "aws4_request"}
	toSign := "AWS4-HMAC-SHA256\n" + o.at.Format(amzDateLayout) + "\n" + sc.String() + "\n" + payloadHash([]byte(canon.String()))
	sig := hex.EncodeToString(hmacSHA256(signingKey(o.secret, sc), toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+o.key+"/"+sc.String()+", SignedHeaders="+signedHeaders+", Signature="+sig)
	return req
}

func TestAuthRejects(t *testing.T) {
	const badSig = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	const badToken = "The security token included in the request is invalid."
	type outcome struct{ json, query want }
	signature := func(msg string) outcome {
		return outcome{want{400, "InvalidSignatureException", msg}, want{403, "SignatureDoesNotMatch", msg}}
	}
	incomplete := func(msg string) outcome {
		return outcome{want{400, "IncompleteSignatureException", msg}, want{400, "IncompleteSignature", msg}}
	}
	expired := func(msg string) outcome {
		return outcome{want{400, "InvalidSignatureException", msg}, want{400, "RequestExpired", msg}}
	}
	cases := []struct {
		name  string
		build func(f *fixture, p protocol, o signOpts) *http.Request
		want  outcome
	}{
		{"no auth", func(f *fixture, p protocol, o signOpts) *http.Request { return p.request(f) },
			outcome{want{400, "MissingAuthenticationTokenException", "Request is missing Authentication Token"},
				want{403, "MissingAuthenticationToken", "Request is missing Authentication Token"}}},
		{"tampered body", func(f *fixture, p protocol, o signOpts) *http.Request {
			signed := f.sign(p.request(f), o)
			body := string(readAll(t, signed))
			tampered := strings.Replace(strings.Replace(body, "my-repo", "my-rep0", 1), "web", "wex", 1)
			req, _ := http.NewRequest(signed.Method, signed.URL.String(), strings.NewReader(tampered))
			req.Header = signed.Header
			return req
		}, signature(badSig)},
		{"tampered header", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("X-Custom", "a")
			f.sign(req, o)
			req.Header.Set("X-Custom", "b")
			return req
		}, signature(badSig)},
		{"wrong secret", func(f *fixture, p protocol, o signOpts) *http.Request {
			o.secret = "not-the-secret"
			return f.sign(p.request(f), o)
		}, signature(badSig)},
		{"unknown key", func(f *fixture, p protocol, o signOpts) *http.Request {
			o.key = "AKIDUNKNOWN"
			return f.sign(p.request(f), o)
		}, outcome{want{400, "UnrecognizedClientException", badToken}, want{403, "InvalidClientTokenId", badToken}}},
		{"stale date", func(f *fixture, p protocol, o signOpts) *http.Request {
			o.at = o.at.Add(-16 * time.Minute)
			return f.sign(p.request(f), o)
		}, expired("Signature expired: 20260301T114400Z is now earlier than 20260301T114500Z (20260301T120000Z - 15 min.)")},
		{"future date", func(f *fixture, p protocol, o signOpts) *http.Request {
			o.at = o.at.Add(16 * time.Minute)
			return f.sign(p.request(f), o)
		}, expired("Signature not yet current: 20260301T121600Z is still later than 20260301T121500Z (20260301T120000Z + 15 min.)")},
		{"presign expired", func(f *fixture, p protocol, o signOpts) *http.Request {
			o.at = o.at.Add(-2 * time.Minute)
			return f.presign(p.request(f), o, time.Minute)
		}, expired("Request has expired: 20260301T115800Z plus 60 seconds is earlier than 20260301T120000Z")},
		{"presign incomplete", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260301T120000Z"
			return req
		}, incomplete("AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. " +
			"AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.")},
		{"malformed header", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("X-Amz-Date", "20260301T120000Z")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE")
			return req
		}, incomplete("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256")},
		{"no date", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := f.sign(p.request(f), o)
			req.Header.Del("X-Amz-Date")
			return req
		}, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256")},
		{"missing equal sign", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 FooBar, BazBurp")
			return req
		}, incomplete("'FooBar' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 FooBar, BazBurp'")},
		{"other algorithm", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("Authorization", "AWS AKIDEXAMPLE:c2lnbmF0dXJl")
			return req
		}, incomplete("Unsupported AWS 'algorithm': 'AWS'.")},
		{"bad date format", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := f.sign(p.request(f), o)
			req.Header.Set("X-Amz-Date", "2026-03-01T12:00:00Z")
			return req
		}, incomplete("Date must be in ISO-8601 'basic format'. Got '2026-03-01T12:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601")},
		{"short credential", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("X-Amz-Date", "20260301T120000Z")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/us-east-1/ecr, SignedHeaders=host;x-amz-date, Signature=abc")
			return req
		}, incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20260301/us-east-1/ecr'")},
		{"host not signed", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("X-Amz-Date", "20260301T120000Z")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/us-east-1/"+p.service+"/aws4_request, SignedHeaders=x-amz-date, Signature=abc")
			return req
		}, signature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")},
		{"bad scope", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("X-Amz-Date", "20260301T120000Z")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260302/Bad_Region/"+p.service+"/aws5_request, SignedHeaders=host;x-amz-date, Signature=abc")
			return req
		}, signature("Credential should be scoped to a valid region, not 'Bad_Region'. " +
			"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. " +
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260302' != '20260301', from '20260301T120000Z'.")},
		{"both mechanisms", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := f.sign(p.request(f), o)
			req.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return req
		}, incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")},
		{"content sha256 mismatch", func(f *fixture, p protocol, o signOpts) *http.Request {
			req := p.request(f)
			req.Header.Set("X-Amz-Content-Sha256", payloadHash([]byte("something else")))
			return f.sign(req, o)
		}, signature("The provided 'x-amz-content-sha256' header does not match what was computed.")},
	}
	for _, p := range []protocol{jsonProtocol, queryProtocol} {
		for _, c := range cases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				f := newFixture(t)
				o := f.opts()
				o.service = p.service
				resp, body := f.do(c.build(f, p, o))
				w := c.want.json
				if p.name == "query" {
					w = c.want.query
				}
				p.check(t, resp, body, w)
			})
		}
	}
}

func TestAuthWrongServiceScope(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.service = "ecs"
	resp, body := f.do(f.sign(jsonProtocol.request(f), o))
	wantJSONError(t, resp, body, 400, "InvalidSignatureException", "Credential should be scoped to correct service: 'ecr'.")

	// A query request's service is its scope: a scope berth has no query
	// API for is a routing error once the signature checks out.
	resp, body = f.do(f.sign(queryProtocol.request(f), o))
	wantQueryError(t, resp, body, 400, "InvalidAction", `berth serves no query-protocol API signed for service "ecs"`)
}

func TestAuthSessionTokens(t *testing.T) {
	const temp = "ASIATEMPORARY"
	withSessions := func(f *fixture, cfg *Config) {
		f.keys.secrets[temp] = testSecret
		f.keys.sessions = map[string]session{temp: {token: "tok", expires: testNow.Add(time.Hour)}}
		cfg.Credentials = f.keys
	}
	for _, p := range []protocol{jsonProtocol, queryProtocol} {
		t.Run(p.name, func(t *testing.T) {
			f := newFixture(t, withSessions)
			o := f.opts()
			o.service, o.key, o.token = p.service, temp, "tok"
			if resp, body := f.do(f.sign(p.request(f), o)); resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			o.token = "forged"
			resp, body := f.do(f.sign(p.request(f), o))
			if p.name == "json" {
				wantJSONError(t, resp, body, 400, "UnrecognizedClientException", "The security token included in the request is invalid.")
			} else {
				wantQueryError(t, resp, body, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
			}
			o.token = "tok"
			f.now = testNow.Add(2 * time.Hour)
			o.at = f.now
			resp, body = f.do(f.sign(p.request(f), o))
			if p.name == "json" {
				wantJSONError(t, resp, body, 403, "ExpiredTokenException", "The security token included in the request is expired")
			} else {
				wantQueryError(t, resp, body, 403, "ExpiredToken", "The security token included in the request is expired")
			}
		})
	}
}

func TestJSONResponse(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(f.sign(f.jsonRequest("CreateRepository",
		`{"repositoryName":"team/app","imageTagMutability":"IMMUTABLE","imageScanningConfiguration":{"scanOnPush":true},"unknownMember":[1,2]}`), f.opts()))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != jsonContentType {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	const want = `{"repository":{"registryId":"123456789012","repositoryName":"team/app","createdAt":1770091506.789,"imageTagMutability":"IMMUTABLE","imageScanningConfiguration":{"scanOnPush":true}}}`
	if string(body) != want {
		t.Fatalf("body\n got %s\nwant %s", body, want)
	}
	resp, body = f.do(f.sign(f.jsonRequest("CreateRepository", `{"repositoryName":"empty"}`), f.opts()))
	if resp.StatusCode != 200 || string(body) != "{}" {
		t.Fatalf("nil output: %d %s", resp.StatusCode, body)
	}
	// An empty body is the empty input.
	resp, body = f.do(f.sign(f.jsonRequest("DescribeRepositories", ``), f.opts()))
	if resp.StatusCode != 200 || string(body) != "{}" {
		t.Fatalf("empty body: %d %s", resp.StatusCode, body)
	}
}

func TestJSONErrors(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, op, body string
		want
	}{
		{"service error", "CreateRepository", `{"repositoryName":"exists"}`,
			want{400, "RepositoryAlreadyExistsException", "The repository with name 'exists' already exists in the registry with id '123456789012'"}},
		{"internal error", "CreateRepository", `{"repositoryName":"boom"}`,
			want{500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."}},
		{"panic", "CreateRepository", `{"repositoryName":"panic"}`, want{500, "InternalFailure", ""}},
		{"unsupported", "DeleteRepository", `{"repositoryName":"x"}`,
			want{400, "UnsupportedOperationException", "berth does not support DeleteRepository yet"}},
		{"unknown operation", "DeleteEverything", `{}`,
			want{400, "UnknownOperationException", "Unknown operation DeleteEverything for AmazonEC2ContainerRegistry_V20150921"}},
		{"malformed", "CreateRepository", `{"repositoryName":`, want{400, "SerializationException", ""}},
		{"trailing data", "CreateRepository", `{"repositoryName":"a1"} {}`,
			want{400, "SerializationException", "Malformed request body: data after the JSON object"}},
		{"not an object", "CreateRepository", `["a"]`, want{400, "SerializationException", "Start of structure or map expected"}},
		{"wrong type", "CreateRepository", `{"repositoryName":5}`,
			want{400, "SerializationException", "Value '5' at 'repositoryName' can not be converted to a string"}},
		{"wrong nested type", "CreateRepository", `{"repositoryName":"ab","imageScanningConfiguration":{"scanOnPush":"yes"}}`,
			want{400, "SerializationException", "Value 'yes' at 'imageScanningConfiguration.scanOnPush' can not be converted to a boolean"}},
		{"fraction for integer", "DescribeRepositories", `{"maxResults":1.5}`,
			want{400, "SerializationException", "Value '1.5' at 'maxResults' can not be converted to an integer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.do(f.sign(f.jsonRequest(c.op, c.body), f.opts()))
			wantJSONError(t, resp, body, c.status, c.code, c.message)
			if strings.Contains(string(body), "disk on fire") {
				t.Fatal("internal error leaked")
			}
		})
	}

	if logs := f.logs.String(); !strings.Contains(logs, "disk on fire") || !strings.Contains(logs, "handler panic: handler bug") {
		t.Fatalf("internal errors not logged:\n%s", logs)
	}

	req := f.sign(f.jsonRequest("CreateRepository", `{}`), f.opts())
	req.Header.Set("X-Amz-Target", "Nope_20200101.CreateRepository")
	o := f.opts()
	resp, body := f.do(f.sign(req, o))
	wantJSONError(t, resp, body, 400, "UnknownOperationException",
		`No service handles X-Amz-Target "Nope_20200101.CreateRepository"; berth serves the target prefixes AmazonEC2ContainerRegistry_V20150921`)
}

func TestValidation(t *testing.T) {
	const namePattern = `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
	f := newFixture(t)
	cases := []struct{ name, op, body, message string }{
		{"required", "CreateRepository", `{}`,
			"1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"},
		{"null is missing", "CreateRepository", `{"repositoryName":null}`,
			"1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"},
		{"names are case-sensitive", "CreateRepository", `{"RepositoryName":"abc"}`,
			"1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"},
		{"length and pattern", "CreateRepository", `{"repositoryName":"A"}`,
			"2 validation errors detected: Value 'A' at 'repositoryName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
				"Value 'A' at 'repositoryName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + namePattern},
		{"max length", "CreateRepository", `{"repositoryName":"` + strings.Repeat("a", 257) + `"}`,
			"1 validation error detected: Value '" + strings.Repeat("a", 257) + "' at 'repositoryName' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"enum", "CreateRepository", `{"repositoryName":"ab","imageTagMutability":"SOMETIMES"}`,
			"1 validation error detected: Value 'SOMETIMES' at 'imageTagMutability' failed to satisfy constraint: " +
				"Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]"},
		{"list element member", "CreateRepository", `{"repositoryName":"ab","tags":[{"Key":"k","Value":"v"},{"Key":"k2"}]}`,
			"1 validation error detected: Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null"},
		{"list of scalars", "DescribeRepositories", `{"repositoryNames":["ok-name","UPPER"]}`,
			"1 validation error detected: Value '[ok-name, UPPER]' at 'repositoryNames' failed to satisfy constraint: Member must satisfy constraint: " +
				"[Member must have length less than or equal to 256, Member must have length greater than or equal to 2, Member must satisfy regular expression pattern: " + namePattern + "]"},
		{"list length", "DescribeRepositories", `{"repositoryNames":[]}`,
			"1 validation error detected: Value '[]' at 'repositoryNames' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"number range", "DescribeRepositories", `{"maxResults":0}`,
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"nested struct list", "BatchDeleteImage", `{"repositoryName":"ab","imageIds":[{"imageTag":""}]}`,
			"1 validation error detected: Value '' at 'imageIds.1.member.imageTag' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"several", "BatchDeleteImage", `{"registryId":"12"}`,
			"3 validation errors detected: Value null at 'imageIds' failed to satisfy constraint: Member must not be null; " +
				"Value '12' at 'registryId' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]{12}; " +
				"Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.do(f.sign(f.jsonRequest(c.op, c.body), f.opts()))
			wantJSONError(t, resp, body, 400, "ValidationException", c.message)
		})
	}
}

func TestValidationHook(t *testing.T) {
	var got []string
	f := newFixture(t, func(f *fixture, cfg *Config) {
		f.services[0].ValidationError = func(path, value, constraint string) *awsapi.Error {
			got = append(got, path, value, constraint)
			return awsapi.Errorf("InvalidParameterException", "Invalid parameter at '%s' failed to satisfy constraint: '%s'", path, constraint)
		}
	})
	resp, body := f.do(f.sign(f.jsonRequest("DescribeRepositories", `{"registryId":"abc","maxResults":2000}`), f.opts()))
	wantJSONError(t, resp, body, 400, "InvalidParameterException",
		"Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'")
	if strings.Join(got, "|") != "maxResults|2000|Member must have value less than or equal to 1000" {
		t.Fatalf("hook got %q", got)
	}
	got = nil
	f.do(f.sign(f.jsonRequest("CreateRepository", `{}`), f.opts()))
	if strings.Join(got, "|") != "repositoryName|null|Member must not be null" {
		t.Fatalf("hook got %q", got)
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat(" ", MaxBodySize+1)
	resp, body := f.do(f.jsonRequest("CreateRepository", big))
	wantJSONError(t, resp, body, 413, "RequestEntityTooLargeException", "Request body must not be larger than 33554432 bytes")

	// Without a Content-Length the limit is found while reading.
	req := f.queryRequest("")
	req.Body = io.NopCloser(strings.NewReader(big))
	req.ContentLength = -1
	resp, body = f.do(req)
	wantQueryErrorNoNS(t, resp, body, 413, "RequestEntityTooLarge")
}

func wantQueryErrorNoNS(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var e queryErrorResponse
	if err := xml.Unmarshal(body, &e); err != nil || resp.StatusCode != status || e.Error.Code != code {
		t.Fatalf("got %d %s (%v)", resp.StatusCode, body, err)
	}
}

func TestHealthMetricsRegistry(t *testing.T) {
	f := newFixture(t)
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
		resp, body := f.do(req)
		return resp, string(body)
	}
	if resp, body := get("/_berth/health"); resp.StatusCode != 200 || body != `{"status":"ok","services":["ecr","elbv2"]}`+"\n" {
		t.Fatalf("health %d %q", resp.StatusCode, body)
	}
	f.ready = false
	if resp, _ := get("/_berth/health"); resp.StatusCode != 503 {
		t.Fatalf("health when not ready: %d", resp.StatusCode)
	}
	for _, path := range []string{"/v2", "/v2/", "/v2/team/app/manifests/latest"} {
		if resp, body := get(path); resp.StatusCode != 200 || body != "registry:"+path {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
		}
	}

	f.do(f.sign(f.jsonRequest("CreateRepository", `{"repositoryName":"exists"}`), f.opts()))
	f.do(f.sign(f.jsonRequest("Bogus", `{}`), f.opts()))
	resp, _ := f.do(f.sign(f.jsonRequest("DescribeRepositories", `{}`), f.opts()))
	debug := "msg=\"aws request\" request_id=" + resp.Header.Get("x-amzn-RequestId") + " service=ecr operation=DescribeRepositories status=200"
	if !strings.Contains(f.logs.String(), debug) {
		t.Errorf("no debug line %q in\n%s", debug, f.logs.String())
	}
	_, metrics := get("/metrics")
	for _, line := range []string{
		`berth_gateway_requests_total{error_code="RepositoryAlreadyExistsException",operation="CreateRepository",service="ecr"} 1`,
		`berth_gateway_requests_total{error_code="UnknownOperationException",operation="unknown",service="ecr"} 1`,
		`berth_gateway_requests_total{error_code="",operation="DescribeRepositories",service="ecr"} 1`,
		`berth_gateway_request_duration_seconds_count{operation="DescribeRepositories",service="ecr"} 1`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ecr := func() *awsapi.Service { return newECRService(&recorder{}) }
	cases := map[string]Config{
		"no credentials":   {Services: []*awsapi.Service{ecr()}},
		"duplicate target": {Credentials: keys{}, Services: []*awsapi.Service{ecr(), ecr()}},
		"unknown operation": {Credentials: keys{}, Services: []*awsapi.Service{func() *awsapi.Service {
			s := ecr()
			s.Operations["Nope"] = s.Operations["CreateRepository"]
			return s
		}()}},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestSignerVectors checks the canonicalisation against a request signed
// by aws-sdk-go-v2 with an awkward path, query and header values.
func TestSignerVectors(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/a%20b/c~d?b=2&a=%2F&a=1&a-b=3&n.10=x&n.1=y&n.2=z&empty=&sp=x%20y&plus=a%2Bb", strings.NewReader(`{"repositoryName":"ab"}`))
	req.Header.Set("Content-Type", jsonContentType)
	req.Header.Set("X-Amz-Target", ecrTarget+".CreateRepository")
	req.Header.Set("X-Spaces", "  a   b  ")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, body := f.do(f.sign(req, f.opts()))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out createRepositoryOutput
	if err := json.Unmarshal(body, &out); err != nil || aws.ToString(out.Repository.RepositoryName) != "ab" {
		t.Fatalf("%s %v", body, err)
	}
}
