package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type echoRequest struct {
	Name string `json:"name"`
}

type echoResponse struct {
	Greeting string `json:"greeting"`
}

const (
	testSecret  = "s3cret"
	testPurpose = "berth test v1"
)

func newEchoServer(t *testing.T) *httptest.Server {
	t.Helper()
	h := JSONHandler(NewAuthorizer(testSecret, testPurpose), slog.Default(), func(_ context.Context, req echoRequest) (echoResponse, error) {
		switch req.Name {
		case "":
			return echoResponse{}, Fail(http.StatusBadRequest, "name a name")
		case "boom":
			return echoResponse{}, errors.New("disk on fire")
		}
		return echoResponse{Greeting: "hello " + req.Name}, nil
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestClientAndHandler(t *testing.T) {
	srv := newEchoServer(t)
	ctx := context.Background()
	client := Client{BaseURL: srv.URL, AdminSecret: testSecret}

	var out echoResponse
	if err := client.PostJSON(ctx, "/", testPurpose, echoRequest{Name: "berth"}, &out); err != nil || out.Greeting != "hello berth" {
		t.Fatalf("got %+v, %v", out, err)
	}
	cases := []struct {
		name    string
		client  Client
		purpose string
		in      any
		want    string
	}{
		{"handler failure keeps its message", client, testPurpose, echoRequest{}, "name a name"},
		{"other errors are not shown", client, testPurpose, echoRequest{Name: "boom"}, "internal error"},
		{"unknown fields are refused", client, testPurpose, map[string]string{"nmae": "x"}, "bad request body"},
		{"another purpose's token is refused", client, "berth other v1", echoRequest{Name: "x"}, "missing or wrong admin token"},
		{"another secret's token is refused", Client{BaseURL: srv.URL, AdminSecret: "other"}, testPurpose, echoRequest{Name: "x"}, "missing or wrong admin token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.client.PostJSON(ctx, "/", tc.purpose, tc.in, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestHandlerRefusesWithoutSecretOrPost(t *testing.T) {
	h := JSONHandler(NewAuthorizer("", testPurpose), slog.Default(), func(context.Context, echoRequest) (echoResponse, error) {
		t.Fatal("served without a secret")
		return echoResponse{}, nil
	})
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+Token("", testPurpose))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d without a configured secret", rec.Code)
	}

	srv := newEchoServer(t)
	get, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	get.Header.Set("Authorization", "Bearer "+Token(testSecret, testPurpose))
	resp, err := http.DefaultClient.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET answered %d", resp.StatusCode)
	}
}
