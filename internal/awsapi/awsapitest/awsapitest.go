// Package awsapitest checks a service's awsapi.ErrorTable: what AWS error
// each error maps to, and which are logged as internal.
package awsapitest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
)

// ErrorCase is an error and the AWS error a table maps it to.
type ErrorCase struct {
	Name    string
	Err     error
	Code    string
	Message string
	Status  int
	// Logged says the table logs the error, as a failure of berth itself.
	Logged bool
}

// CheckErrorTable maps each case's error with the table newTable builds
// around a logger, and checks the AWS error and how many records the table
// logged.
func CheckErrorTable(t *testing.T, newTable func(*slog.Logger) *awsapi.ErrorTable, cases []ErrorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var logs bytes.Buffer
			got := newTable(slog.New(slog.NewTextHandler(&logs, nil))).Map(context.Background(), tc.Err)
			if got.Code != tc.Code || got.Message != tc.Message || got.HTTPStatus() != tc.Status {
				t.Fatalf("got %d %s: %q\nwant %d %s: %q", got.HTTPStatus(), got.Code, got.Message, tc.Status, tc.Code, tc.Message)
			}
			wantLogs := 0
			if tc.Logged {
				wantLogs = 1
			}
			if n := strings.Count(logs.String(), "\n"); n != wantLogs {
				t.Fatalf("logged %d times, want %d:\n%s", n, wantLogs, logs.String())
			}
		})
	}
}
