package gateway

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
)

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	amzDateLayout   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	maxClockSkew    = 15 * time.Minute
	maxPresignTTL   = 7 * 24 * time.Hour
	msgBadSignature = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken = "The security token included in the request is invalid."
	// EC2's messages for what it reports as AuthFailure and
	// MissingAuthenticationToken.
	msgAuthFailure    = "AWS was not able to validate the provided access credentials"
	msgEC2MissingAuth = "The request must contain either a valid (registered) AWS access key ID or X.509 certificate."
)

// authKind classifies SigV4 failures; each protocol names them differently.
type authKind int

const (
	authMissing authKind = iota
	authIncomplete
	authSignature
	authUnknownKey
	authExpired
	authTokenExpired
)

type authError struct {
	kind authKind
	msg  string
}

// apiError is the error in the codes of the spec's SigV4 table: Coral's JSON
// services answer 400 for all but an expired token, the query services 403
// for missing, bad and unknown credentials. EC2 has words of its own: an
// unknown key or token and a signature that does not match are one
// AuthFailure (401), and an expired token is RequestExpired like a stale
// signature.
func (e *authError) apiError(p awsapi.Protocol) *awsapi.Error {
	type answer struct {
		code   string
		status int
	}
	var a answer
	msg := e.msg
	switch p {
	case awsapi.EC2:
		a = [...]answer{
			authMissing:      {"MissingAuthenticationToken", 401},
			authIncomplete:   {"IncompleteSignature", 400},
			authSignature:    {"AuthFailure", 401},
			authUnknownKey:   {"AuthFailure", 401},
			authExpired:      {"RequestExpired", 400},
			authTokenExpired: {"RequestExpired", 400},
		}[e.kind]
		switch {
		case e.kind == authMissing:
			msg = msgEC2MissingAuth
		case e.kind == authUnknownKey, e.msg == msgBadSignature:
			msg = msgAuthFailure
		}
	case awsapi.JSON11:
		a = [...]answer{
			authMissing:      {"MissingAuthenticationTokenException", 400},
			authIncomplete:   {"IncompleteSignatureException", 400},
			authSignature:    {"InvalidSignatureException", 400},
			authUnknownKey:   {"UnrecognizedClientException", 400},
			authExpired:      {"InvalidSignatureException", 400},
			authTokenExpired: {"ExpiredTokenException", 403},
		}[e.kind]
	default:
		a = [...]answer{
			authMissing:      {"MissingAuthenticationToken", 403},
			authIncomplete:   {"IncompleteSignature", 400},
			authSignature:    {"SignatureDoesNotMatch", 403},
			authUnknownKey:   {"InvalidClientTokenId", 403},
			authExpired:      {"RequestExpired", 400},
			authTokenExpired: {"ExpiredToken", 403},
		}[e.kind]
	}
	return &awsapi.Error{Code: a.code, Message: msg, Status: a.status}
}

// param is one decoded query-string or form pair, in request order.
type param struct{ key, value string }

// parseQuery decodes a raw query string or form body. It keeps every pair
// in order (url.ParseQuery would drop pairs with ';' and lose the order).
func parseQuery(raw string) ([]param, error) {
	var out []param
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		out = append(out, param{key, value})
	}
	return out, nil
}

func paramValue(ps []param, key string) string {
	for _, p := range ps {
		if p.key == key {
			return p.value
		}
	}
	return ""
}

func hasParam(ps []param, key string) bool {
	for _, p := range ps {
		if p.key == key {
			return true
		}
	}
	return false
}

// readBody reads at most MaxBodySize bytes; tooBig reports a larger body.
func readBody(r *http.Request) (body []byte, tooBig bool, err error) {
	if r.ContentLength > MaxBodySize {
		return nil, true, nil
	}
	body, err = io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	if err != nil {
		return nil, false, err
	}
	return body, len(body) > MaxBodySize, nil
}

// sigv4 is the signature a request carries, from its Authorization header
// or its presigned query parameters.
type sigv4 struct {
	presigned     bool
	credential    string
	signedHeaders string
	signature     string
	date          string // X-Amz-Date (or Date) as sent
	expires       string // X-Amz-Expires, presigned only
	token         string
}

// parseAuthHeader parses an Authorization header value. date is the
// request's X-Amz-Date or Date header; its absence is reported together
// with missing parameters, as AWS does.
func parseAuthHeader(header, date string) (*sigv4, *authError) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if alg != sigAlgorithm {
		return nil, &authError{authIncomplete, fmt.Sprintf("Unsupported AWS 'algorithm': '%s'.", alg)}
	}
	s := &sigv4{date: date}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, &authError{authIncomplete, fmt.Sprintf(
				"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'", part, header)}
		}
		switch k {
		case "Credential":
			s.credential = v
		case "SignedHeaders":
			s.signedHeaders = v
		case "Signature":
			s.signature = v
		}
	}
	var msg strings.Builder
	for _, m := range []struct {
		missing bool
		text    string
	}{
		{s.credential == "", "Authorization header requires 'Credential' parameter. "},
		{s.signature == "", "Authorization header requires 'Signature' parameter. "},
		{s.signedHeaders == "", "Authorization header requires 'SignedHeaders' parameter. "},
		{date == "", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "},
	} {
		if m.missing {
			msg.WriteString(m.text)
		}
	}
	if msg.Len() > 0 {
		return nil, &authError{authIncomplete, msg.String() + "Authorization=" + alg}
	}
	return s, nil
}

var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"}

// isPresigned reports whether a query string carries a SigV4 signature.
func isPresigned(q []param) bool {
	return hasParam(q, "X-Amz-Algorithm") || hasParam(q, "X-Amz-Credential") || hasParam(q, "X-Amz-Signature")
}

// parsePresigned reads the SigV4 parameters of a presigned URL.
func parsePresigned(q []param) (*sigv4, *authError) {
	var msg strings.Builder
	for _, name := range presignParams {
		if paramValue(q, name) == "" {
			fmt.Fprintf(&msg, "AWS query-string parameters must include '%s'. ", name)
		}
	}
	if msg.Len() > 0 {
		return nil, &authError{authIncomplete, msg.String() + "Re-examine the query-string parameters."}
	}
	if alg := paramValue(q, "X-Amz-Algorithm"); alg != sigAlgorithm {
		return nil, &authError{authIncomplete, fmt.Sprintf("Unsupported AWS 'algorithm': '%s'.", alg)}
	}
	return &sigv4{
		presigned:     true,
		credential:    paramValue(q, "X-Amz-Credential"),
		signedHeaders: paramValue(q, "X-Amz-SignedHeaders"),
		signature:     paramValue(q, "X-Amz-Signature"),
		date:          paramValue(q, "X-Amz-Date"),
		expires:       paramValue(q, "X-Amz-Expires"),
		token:         paramValue(q, "X-Amz-Security-Token"),
	}, nil
}

// scope is the parsed credential: <key>/<date>/<region>/<service>/aws4_request.
type scope struct {
	accessKeyID, date, region, service, terminator string
}

func parseCredential(cred string) (scope, *authError) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return scope{}, &authError{authIncomplete, fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)}
	}
	return scope{parts[0], parts[1], parts[2], parts[3], parts[4]}, nil
}

func (s scope) String() string {
	return s.date + "/" + s.region + "/" + s.service + "/" + s.terminator
}

// parseSigningTime reads X-Amz-Date (ISO-8601 basic) or an HTTP Date header
// and returns the time and its X-Amz-Date form for the string to sign.
func parseSigningTime(v string, amz bool) (time.Time, string, *authError) {
	if amz {
		if t, err := time.Parse(amzDateLayout, v); err == nil && len(v) == len(amzDateLayout) {
			return t, v, nil
		}
	} else if t, err := http.ParseTime(v); err == nil {
		return t.UTC(), t.UTC().Format(amzDateLayout), nil
	}
	return time.Time{}, "", &authError{authIncomplete, fmt.Sprintf(
		"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", v)}
}

// identity is who signed a request. service is filled in as soon as the
// credential parses, so errors can be written in that service's flavour.
type identity struct {
	accessKeyID, account, region, service string
	caller                                awsapi.Caller
}

// authenticate verifies the request's SigV4 signature. wantService is the
// signing name of the service an X-Amz-Target chose ("" when routing by
// scope). The region is verified but not enforced.
func (g *Gateway) authenticate(r *http.Request, body []byte, query []param, wantService string) (*identity, *authError) {
	id := &identity{}
	header := r.Header.Get("Authorization")
	var sig *sigv4
	var aerr *authError
	switch presigned := isPresigned(query); {
	case presigned && header != "":
		return id, &authError{authIncomplete, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified"}
	case presigned:
		sig, aerr = parsePresigned(query)
	case header != "":
		date := r.Header.Get("X-Amz-Date")
		if date == "" {
			date = r.Header.Get("Date")
		}
		sig, aerr = parseAuthHeader(header, date)
		if sig != nil {
			sig.token = r.Header.Get("X-Amz-Security-Token")
		}
	default:
		return id, &authError{authMissing, "Request is missing Authentication Token"}
	}
	if aerr != nil {
		return id, aerr
	}
	// The credential's shape is reported after the header and date checks,
	// as AWS orders them; its service is wanted for any error's flavour.
	sc, credErr := parseCredential(sig.credential)
	id.service = sc.service

	signed := strings.Split(sig.signedHeaders, ";")
	if !containsFold(signed, "host") {
		return id, &authError{authSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	signingTime, amzDate, aerr := parseSigningTime(sig.date, sig.presigned || r.Header.Get("X-Amz-Date") != "")
	if aerr != nil {
		return id, aerr
	}
	if aerr := g.checkTime(signingTime, sig); aerr != nil {
		return id, aerr
	}
	if credErr != nil {
		return id, credErr
	}
	if aerr := checkScope(sc, wantService, amzDate); aerr != nil {
		return id, aerr
	}

	secret, account, ok := g.cfg.Credentials.Secret(sc.accessKeyID)
	if !ok {
		return id, &authError{authUnknownKey, msgInvalidToken}
	}
	if account == "" {
		account = g.cfg.AccountID
	}

	payloads, aerr := payloadHashes(r, body, sig.presigned)
	if aerr != nil {
		return id, aerr
	}
	key := signingKey(secret, sc)
	matched := false
	for _, payload := range payloads {
		canonical := canonicalRequest(r, query, signed, payload, sig.presigned)
		sum := sha256.Sum256([]byte(canonical))
		toSign := sigAlgorithm + "\n" + amzDate + "\n" + sc.String() + "\n" + hex.EncodeToString(sum[:])
		want := hex.EncodeToString(hmacSHA256(key, toSign))
		if hmac.Equal([]byte(want), []byte(sig.signature)) {
			matched = true
		}
	}
	if !matched {
		return id, &authError{authSignature, msgBadSignature}
	}
	// Only a correctly signed request learns whether its session token is
	// wrong or expired.
	if sessions, isSessions := g.cfg.Credentials.(SessionCredentials); isSessions {
		if token, expires, temporary := sessions.Session(sc.accessKeyID); temporary {
			if subtle.ConstantTimeCompare([]byte(token), []byte(sig.token)) != 1 {
				return id, &authError{authUnknownKey, msgInvalidToken}
			}
			if !g.now().Before(expires) {
				return id, &authError{authTokenExpired, "The security token included in the request is expired"}
			}
		}
	}
	id.accessKeyID, id.account, id.region = sc.accessKeyID, account, sc.region
	id.caller = awsapi.Caller{ARN: "arn:aws:iam::" + account + ":root", UserID: account, Admin: true}
	if callers, ok := g.cfg.Credentials.(Callers); ok {
		if id.caller, ok = callers.Caller(sc.accessKeyID); !ok {
			return id, &authError{authUnknownKey, msgInvalidToken}
		}
	}
	return id, nil
}

// checkTime applies the ±15 minute clock skew, and for presigned URLs
// their X-Amz-Expires lifetime.
func (g *Gateway) checkTime(t time.Time, sig *sigv4) *authError {
	now := g.now().UTC()
	if t.After(now.Add(maxClockSkew)) {
		return &authError{authExpired, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			t.Format(amzDateLayout), now.Add(maxClockSkew).Format(amzDateLayout), now.Format(amzDateLayout))}
	}
	if sig.presigned && sig.expires != "" {
		secs, err := strconv.Atoi(sig.expires)
		if err != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignTTL {
			return &authError{authIncomplete, fmt.Sprintf(
				"X-Amz-Expires must be an integer number of seconds from 1 to 604800, got '%s'", sig.expires)}
		}
		if now.After(t.Add(time.Duration(secs) * time.Second)) {
			return &authError{authExpired, fmt.Sprintf("Request has expired: %s plus %d seconds is earlier than %s",
				t.Format(amzDateLayout), secs, now.Format(amzDateLayout))}
		}
		return nil
	}
	if t.Before(now.Add(-maxClockSkew)) {
		return &authError{authExpired, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			t.Format(amzDateLayout), now.Add(-maxClockSkew).Format(amzDateLayout), now.Format(amzDateLayout))}
	}
	return nil
}

// checkScope reports every way the credential scope is wrong, in one
// message as AWS does. An empty region is allowed (berth's home region).
func checkScope(sc scope, wantService, amzDate string) *authError {
	var msg []string
	if !validRegion(sc.region) {
		msg = append(msg, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", sc.region))
	}
	if wantService != "" && sc.service != wantService {
		msg = append(msg, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", wantService))
	} else if sc.service == "" {
		msg = append(msg, "Credential should be scoped to a valid service.")
	}
	if sc.terminator != "aws4_request" {
		msg = append(msg, fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", sc.terminator))
	}
	if sc.date != amzDate[:8] {
		msg = append(msg, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			sc.date, amzDate[:8], amzDate))
	}
	if len(msg) > 0 {
		return &authError{authSignature, strings.Join(msg, " ")}
	}
	return nil
}

func validRegion(r string) bool {
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// payloadHashes returns the payload hashes a signature may have used:
// X-Amz-Content-Sha256 when sent (checked against the body unless
// UNSIGNED-PAYLOAD), else the body's SHA-256; presigned URLs may also have
// been signed with UNSIGNED-PAYLOAD.
func payloadHashes(r *http.Request, body []byte, presigned bool) ([]string, *authError) {
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	values := r.Header.Values("X-Amz-Content-Sha256")
	if len(values) == 0 {
		if presigned {
			return []string{bodyHash, unsignedPayload}, nil
		}
		return []string{bodyHash}, nil
	}
	claimed := values[0]
	if len(values) > 1 || (claimed != unsignedPayload && !strings.EqualFold(claimed, bodyHash)) {
		return nil, &authError{authSignature, "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	return []string{claimed}, nil
}

// canonicalRequest builds the SigV4 canonical request from the request as
// received: the path as sent, the query re-encoded and sorted, the signed
// headers in the order the client listed them.
func canonicalRequest(r *http.Request, query []param, signed []string, payload string, presigned bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query, presigned))
	b.WriteByte('\n')
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

// canonicalURI is the raw request path, URI-encoded once more (non-S3
// services sign the already-encoded path).
func canonicalURI(r *http.Request) string {
	path := r.URL.EscapedPath()
	if strings.HasPrefix(r.RequestURI, "/") {
		path, _, _ = strings.Cut(r.RequestURI, "?")
	}
	if path == "" {
		return "/"
	}
	return uriEncode(path, false)
}

// canonicalQuery sorts the encoded pairs by key, then value; sorting the
// joined "k=v" strings would misplace keys that prefix others ("a" and
// "a-b", "n.1" and "n.10").
func canonicalQuery(query []param, presigned bool) string {
	pairs := make([]param, 0, len(query))
	for _, p := range query {
		if presigned && p.key == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, param{uriEncode(p.key, true), uriEncode(p.value, true)})
	}
	slices.SortFunc(pairs, func(a, b param) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key + "=" + p.value)
	}
	return b.String()
}

// canonicalHeaderValue joins a header's values with commas, each trimmed and
// with inner runs of spaces collapsed.
func canonicalHeaderValue(r *http.Request, name string) string {
	if strings.EqualFold(name, "host") {
		return strings.Join(strings.Fields(r.Host), " ")
	}
	values := r.Header.Values(name)
	trimmed := make([]string, len(values))
	for i, v := range values {
		trimmed[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(trimmed, ",")
}

// uriEncode percent-encodes everything but the unreserved characters (and
// '/' unless encodeSlash), with upper-case hex, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func signingKey(secret string, sc scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), sc.date)
	k = hmacSHA256(k, sc.region)
	k = hmacSHA256(k, sc.service)
	return hmacSHA256(k, sc.terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
