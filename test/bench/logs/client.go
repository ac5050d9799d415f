package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/berth/berth/test/bench/benchserver"
)

// startLogsServer starts berth without its agent and returns it with a
// CloudWatch Logs client.
func startLogsServer(ctx context.Context, cfg config) (*benchserver.Berth, *cloudwatchlogs.Client, error) {
	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, false)
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := sdkConfig(srv)
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	return srv, newLogsClient(awsCfg), nil
}

// sdkConfig is the SDK configuration for srv, with the SDK's own HTTP
// client behind plainBodies.
func sdkConfig(srv *benchserver.Berth) (aws.Config, error) {
	awsCfg, err := srv.AWSConfig()
	if err != nil {
		return aws.Config{}, err
	}
	awsCfg.HTTPClient = plainBodies{awshttp.NewBuildableClient()}
	return awsCfg, nil
}

// newLogsClient is the SDK's client without retries: a failed call is a
// finding, not something to hide in the figures.
func newLogsClient(awsCfg aws.Config) *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(awsCfg, func(o *cloudwatchlogs.Options) { o.Retryer = aws.NopRetryer{} })
}

// plainBodies hides the WriteTo method of request bodies from net/http.
//
// smithy-go (v1.28.9) gives a request a body whose WriteTo returns io.EOF
// once the SDK has closed it, which the SDK does as soon as the response
// arrives. net/http, having sent Content-Length bytes, copies whatever is
// left of the body to io.Discard. A server that answers over loopback
// before that copy runs gets it to fail with that io.EOF. net/http then
// takes the request write as failed and closes the connection while the
// SDK still reads the response, which fails with "use of closed network
// connection". This happens in about 1 in 10 to 100 GetLogEvents calls
// whose response is over 2 KiB (chunked). With the SDK's default retryer
// the call is silently made again, which would distort latencies; here it
// would fail the run. Read returns a plain io.EOF after Close, which
// io.Copy takes as the end.
type plainBodies struct{ c aws.HTTPClient }

func (p plainBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readOnlyBody{r.Body}
	}
	return p.c.Do(r)
}

// readOnlyBody has only Read and Close.
type readOnlyBody struct{ io.ReadCloser }

// groupStoredBytes is a log group's storedBytes: its streams' messages
// and 26 bytes per event. (A stream's own storedBytes is deprecated: AWS
// reports 0.)
func groupStoredBytes(ctx context.Context, client *cloudwatchlogs.Client, group string) (int64, error) {
	out, err := client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil {
		return 0, err
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == group {
			return aws.ToInt64(g.StoredBytes), nil
		}
	}
	return 0, fmt.Errorf("DescribeLogGroups: no group %s", group)
}
