// Package gatewaytest serves AWS API services behind berth's real gateway
// for the tests that call them with the AWS SDK, so that those tests cover
// signing, routing and the wire protocols as a client meets them.
package gatewaytest

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/gateway"
)

// The account and home region of the gateway Start serves, and the one key
// it knows.
const (
	AccountID       = "123456789012"
	Region          = "us-east-1"
	AccessKeyID     = "AKIDBERTHTEST"
	SecretAccessKey = "berth-test-secret"
)

// testKey is Start's credentials: AccessKeyID alone, the account's admin.
type testKey struct{}

func (testKey) Secret(id string) (secret, accountID string, ok bool) {
	return SecretAccessKey, AccountID, id == AccessKeyID
}

// Start serves services behind a gateway that knows one key, AccessKeyID
// of AccountID, until the test ends, and returns the SDK configuration
// that calls them with that key in Region.
func Start(t testing.TB, services ...*awsapi.Service) aws.Config {
	url := Serve(t, gateway.Config{Region: Region, AccountID: AccountID, Credentials: testKey{}, Services: services})
	return Config(url, Region, aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey})
}

// Serve serves the gateway cfg describes over HTTP until the test ends and
// returns its URL. The gateway's log is discarded unless cfg names a
// logger.
func Serve(t testing.TB, cfg gateway.Config) string {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Config is the SDK configuration that calls the gateway at url in region,
// signing with creds. Its clients try a call once: a test wants the
// gateway's first answer.
func Config(url, region string, creds aws.Credentials) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
		RetryMaxAttempts: 1,
	}
}

// WantError fails the test unless err is the API error code, with message
// unless that is "".
func WantError(t testing.TB, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (message != "" && ae.ErrorMessage() != message) {
		t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
}
