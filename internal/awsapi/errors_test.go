package awsapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
)

var (
	errMissing = errors.New("missing")
	errBad     = errors.New("bad input")
)

type quotaError struct{ limit int }

func (e *quotaError) Error() string { return fmt.Sprintf("over the quota of %d", e.limit) }

func newTestTable(log *slog.Logger) *awsapi.ErrorTable {
	return awsapi.NewErrorTable(log, awsapi.Error{Code: "ServerException", Message: "internal", Status: 500},
		awsapi.Is(errMissing, awsapi.Error{Code: "NotFoundException", Message: "Not found."}),
		awsapi.Is(errBad, awsapi.Error{Code: "InvalidParameterException"}),
		awsapi.As(func(e *quotaError) *awsapi.Error {
			return &awsapi.Error{Code: "LimitExceededException", Message: fmt.Sprintf("At most %d.", e.limit), Status: 429}
		}),
	)
}

func TestErrorTableMap(t *testing.T) {
	passed := awsapi.Errorf("AccessDeniedException", "no")
	internal := awsapi.InternalFailure().Message
	awsapitest.CheckErrorTable(t, newTestTable, []awsapitest.ErrorCase{
		{Name: "sentinel", Err: errMissing, Code: "NotFoundException", Message: "Not found.", Status: 400},
		{Name: "wrapped sentinel", Err: fmt.Errorf("get thing: %w", errMissing), Code: "NotFoundException", Message: "Not found.", Status: 400},
		{Name: "message of its own", Err: awsapi.WithMessage(errMissing, "Thing %q not found.", "x"), Code: "NotFoundException", Message: `Thing "x" not found.`, Status: 400},
		{Name: "kind with a message", Err: fmt.Errorf("check: %w", awsapi.WithMessage(errBad, "Name too long.")), Code: "InvalidParameterException", Message: "Name too long.", Status: 400},
		{Name: "message of another kind", Err: fmt.Errorf("%w: %w", errMissing, awsapi.WithMessage(errBad, "Name too long.")), Code: "NotFoundException", Message: "Not found.", Status: 400},
		{Name: "typed", Err: &quotaError{limit: 3}, Code: "LimitExceededException", Message: "At most 3.", Status: 429},
		{Name: "wrapped typed", Err: fmt.Errorf("scan: %w", &quotaError{limit: 3}), Code: "LimitExceededException", Message: "At most 3.", Status: 429},
		{Name: "AWS error", Err: passed, Code: "AccessDeniedException", Message: "no", Status: 400},
		{Name: "wrapped AWS error", Err: fmt.Errorf("tag: %w", passed), Code: "AccessDeniedException", Message: "no", Status: 400},
		{Name: "AWS error before a rule", Err: fmt.Errorf("%w: %w", errMissing, passed), Code: "AccessDeniedException", Message: "no", Status: 400},
		{Name: "cancelled", Err: fmt.Errorf("list: %w", context.Canceled), Code: "InternalFailure", Message: internal, Status: 500},
		{Name: "timed out", Err: context.DeadlineExceeded, Code: "InternalFailure", Message: internal, Status: 500},
		{Name: "unknown", Err: errors.New("disk on fire"), Code: "ServerException", Message: "internal", Status: 500, Logged: true},
	})
}

func TestErrorTableMapKeepsItsRows(t *testing.T) {
	table := newTestTable(slog.New(slog.DiscardHandler))
	if table.Map(context.Background(), nil) != nil {
		t.Fatal("nil mapped to an error")
	}
	table.Map(context.Background(), errMissing).Message = "changed"
	table.Map(context.Background(), errors.New("x")).Code = "changed"
	if got := table.Map(context.Background(), errMissing); got.Message != "Not found." {
		t.Fatalf("a caller changed the table's row: %+v", got)
	}
	if got := table.Map(context.Background(), errors.New("x")); got.Code != "ServerException" {
		t.Fatalf("a caller changed the table's internal error: %+v", got)
	}
}

func TestErrorTableLogsTheRequest(t *testing.T) {
	var logs bytes.Buffer
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{RequestID: "req-1", Operation: "DescribeThings"})
	newTestTable(slog.New(slog.NewTextHandler(&logs, nil))).Map(ctx, errors.New("disk on fire"))
	for _, want := range []string{"request_id=req-1", "operation=DescribeThings", `error="disk on fire"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

func TestErrorTableBind(t *testing.T) {
	type in struct{ fail error }
	type out struct{ ok bool }
	ops := map[string]awsapi.Operation{
		"Do": awsapi.Op(func(_ context.Context, i *in) (*out, error) {
			if i.fail != nil {
				return nil, i.fail
			}
			return &out{ok: true}, nil
		}),
	}
	bound := newTestTable(slog.New(slog.DiscardHandler)).Bind(ops)
	if len(bound) != 1 {
		t.Fatalf("bound %d operations", len(bound))
	}
	op := bound["Do"]
	if _, ok := op.NewInput().(*in); !ok {
		t.Fatal("NewInput lost")
	}
	res, err := op.Call(context.Background(), &in{})
	if err != nil || !res.(*out).ok {
		t.Fatalf("success: %v %v", res, err)
	}
	res, err = op.Call(context.Background(), &in{fail: fmt.Errorf("do: %w", errMissing)})
	if aerr, ok := err.(*awsapi.Error); res != nil || !ok || aerr.Code != "NotFoundException" {
		t.Fatalf("failure: %v %v", res, err)
	}
	// The operations given are left as they were.
	if _, err := ops["Do"].Call(context.Background(), &in{fail: errMissing}); !errors.Is(err, errMissing) {
		t.Fatalf("unbound operation: %v", err)
	}
}

func TestAccessDeniedInEachProtocol(t *testing.T) {
	denied := &awsapi.AccessDenied{Message: "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ec2:CreateVpc on resource: *"}
	for _, c := range []struct {
		protocol awsapi.Protocol
		code     string
		status   int
		message  string
	}{
		{awsapi.JSON11, "AccessDeniedException", 400, denied.Message},
		{awsapi.Query, "AccessDenied", 403, denied.Message},
		{awsapi.EC2, "UnauthorizedOperation", 403, "You are not authorized to perform this operation. " + denied.Message},
	} {
		e := denied.APIError(c.protocol)
		if e.Code != c.code || e.HTTPStatus() != c.status || e.Message != c.message {
			t.Errorf("%s: got %d %s %q", c.protocol, e.HTTPStatus(), e.Code, e.Message)
		}
	}
}
