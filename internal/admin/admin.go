// Package admin is berth's own administrative HTTP endpoints, outside the
// AWS APIs (Spot interruption, registry garbage collection, the
// vulnerability database): their authentication, their JSON conventions,
// and the client the berth CLI calls them with.
//
// An endpoint takes no SigV4 signature. A request carries, as a bearer
// token, an HMAC-SHA256 of the endpoint's purpose string keyed with the
// admin's secret access key (the data dir's credentials.json). Whoever can
// read the data dir can compute it; the endpoints are plain HTTP, so the
// token, not the secret, crosses the wire, and one seen in transit opens
// only its own endpoint, never the AWS APIs.
package admin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Token is the bearer token of the endpoint with that purpose.
func Token(adminSecret, purpose string) string {
	mac := hmac.New(sha256.New, []byte(adminSecret))
	mac.Write([]byte(purpose))
	return hex.EncodeToString(mac.Sum(nil))
}

// ErrorBody is every endpoint's JSON error body.
type ErrorBody struct {
	Error string `json:"error"`
}

// Failure is an error with the HTTP status to answer it with; other
// errors a handler returns are logged and answered 500 "internal error".
type Failure struct {
	Status  int
	Message string
}

func (f *Failure) Error() string { return f.Message }

// Fail returns a Failure.
func Fail(status int, format string, args ...any) error {
	return &Failure{Status: status, Message: fmt.Sprintf(format, args...)}
}

// Authorizer checks the bearer token of one endpoint.
type Authorizer struct {
	// token is nil when there is no secret: every request is refused.
	token []byte
}

// NewAuthorizer returns the check for the endpoint with that purpose.
func NewAuthorizer(adminSecret, purpose string) Authorizer {
	if adminSecret == "" {
		return Authorizer{}
	}
	return Authorizer{token: []byte(Token(adminSecret, purpose))}
}

// Allows compares the request's bearer token with the expected one in
// constant time.
func (a Authorizer) Allows(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && a.token != nil && subtle.ConstantTimeCompare([]byte(token), a.token) == 1
}

// Refuse answers a request without the right token.
func Refuse(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
	WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: "missing or wrong admin token (derived from the admin secret)"})
}

// WriteJSON writes v as the response body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError answers err: a Failure with its status and message, anything
// else logged and answered as an internal error.
func WriteError(ctx context.Context, w http.ResponseWriter, log *slog.Logger, err error) {
	var f *Failure
	if errors.As(err, &f) {
		WriteJSON(w, f.Status, ErrorBody{Error: f.Message})
		return
	}
	log.ErrorContext(ctx, "admin request failed", "error", err)
	WriteJSON(w, http.StatusInternalServerError, ErrorBody{Error: "internal error"})
}

// maxRequestBody caps a JSON request.
const maxRequestBody = 64 << 10

// JSONHandler serves one POST endpoint whose request and answer are JSON:
// the token is checked, the body decoded strictly (unknown fields are an
// error), and serve's answer or error written back.
func JSONHandler[Req, Resp any](auth Authorizer, log *slog.Logger, serve func(context.Context, Req) (Resp, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !auth.Allows(r) {
			Refuse(w)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			WriteJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "use POST"})
			return
		}
		var req Req
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			WriteJSON(w, http.StatusBadRequest, ErrorBody{Error: "bad request body: " + err.Error()})
			return
		}
		out, err := serve(r.Context(), req)
		if err != nil {
			WriteError(r.Context(), w, log, err)
			return
		}
		WriteJSON(w, http.StatusOK, out)
	})
}

// Client calls the endpoints of one server.
type Client struct {
	// BaseURL is the server's endpoint, http://host:port.
	BaseURL string
	// AdminSecret is the admin's secret access key.
	AdminSecret string
	// HTTP defaults to a client with a 30 s timeout.
	HTTP *http.Client
}

// Post sends body (of contentType) to path with the token of purpose and
// decodes a 200 answer's JSON into out. A non-200 answer is an error with
// the endpoint's message.
func (c Client) Post(ctx context.Context, path, purpose, contentType string, body io.Reader, out any) error {
	url := c.BaseURL + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+Token(c.AdminSecret, purpose))
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("is `berth server` running at %s? %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e ErrorBody
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("%s: %s %s", url, resp.Status, strings.TrimSpace(string(raw)))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: bad answer: %w", url, err)
	}
	return nil
}

// PostJSON sends in as JSON; see Post.
func (c Client) PostJSON(ctx context.Context, path, purpose string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.Post(ctx, path, purpose, "application/json", bytes.NewReader(body), out)
}
