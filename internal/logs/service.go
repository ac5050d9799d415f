// Package logs is berth's Amazon CloudWatch Logs API: log groups, log
// streams, their events (PutLogEvents, GetLogEvents, FilterLogEvents), Live
// Tail and Logs Insights queries; and the endpoint through which agents
// deliver the output of containers that log with the awslogs driver.
//
// Groups and streams are records in berth's store (logsstate); events live
// in the log data files (logdata), which a stream names by its DataID.
package logs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/store"
)

// Config wires the CloudWatch Logs API.
type Config struct {
	// Store holds the groups' and streams' records.
	Store store.Store
	// Data holds the events.
	Data *logdata.Store
	// AccountID names the account in ARNs and in Insights' @log. Each
	// request works in its own region (awsapi.RequestFrom).
	AccountID string
	// Now is the clock (nil: time.Now).
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Logs is the CloudWatch Logs service: its API, the agents' log endpoint
// and the retention sweep, over one store of events.
type Logs struct {
	s *service
}

type service struct {
	store   store.Store
	data    *logdata.Store
	account string
	now     func() time.Time
	log     *slog.Logger
	tail    *tailHub
	queries *queryBook
	metrics *metrics
}

// New returns the CloudWatch Logs service.
func New(cfg Config) *Logs {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &service{
		store:   cfg.Store,
		data:    cfg.Data,
		account: cfg.AccountID,
		now:     cfg.Now,
		log:     cfg.Logger.With("service", "logs"),
		tail:    newTailHub(),
		metrics: newMetrics(cfg.Registerer),
	}
	s.queries = newQueryBook(s)
	return &Logs{s: s}
}

// Service returns the API as the gateway serves it.
func (l *Logs) Service() *awsapi.Service {
	s := l.s
	errs := newErrorTable(s.log)
	return &awsapi.Service{
		SigningName:     "logs",
		TargetPrefix:    "Logs_20140328",
		Protocol:        awsapi.JSON11,
		Model:           model.MustLoad("logs"),
		Operations:      errs.Bind(s.operations()),
		ValidationError: validationError,
		Unsupported:     unsupported,
		Access:          s.access,
	}
}

// AgentHandler returns the endpoint agents deliver container logs to
// (agentproto.LogStreamPath and LogBatchPath), for agents presenting
// token.
func (l *Logs) AgentHandler(token string, roles ExecutionRoles) http.Handler {
	return newAgentHandler(l.s, token, roles)
}

func (s *service) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateLogGroup":                awsapi.Op(s.createLogGroup),
		"DeleteLogGroup":                awsapi.Op(s.deleteLogGroup),
		"DescribeLogGroups":             awsapi.Op(s.describeLogGroups),
		"ListLogGroups":                 awsapi.Op(s.listLogGroups),
		"PutRetentionPolicy":            awsapi.Op(s.putRetentionPolicy),
		"DeleteRetentionPolicy":         awsapi.Op(s.deleteRetentionPolicy),
		"PutLogGroupDeletionProtection": awsapi.Op(s.putLogGroupDeletionProtection),
		"TagResource":                   awsapi.Op(s.tagResource),
		"UntagResource":                 awsapi.Op(s.untagResource),
		"ListTagsForResource":           awsapi.Op(s.listTagsForResource),
		"TagLogGroup":                   awsapi.Op(s.tagLogGroup),
		"UntagLogGroup":                 awsapi.Op(s.untagLogGroup),
		"ListTagsLogGroup":              awsapi.Op(s.listTagsLogGroup),

		"CreateLogStream":    awsapi.Op(s.createLogStream),
		"DeleteLogStream":    awsapi.Op(s.deleteLogStream),
		"DescribeLogStreams": awsapi.Op(s.describeLogStreams),

		"PutLogEvents":    awsapi.Op(s.putLogEvents),
		"GetLogEvents":    awsapi.Op(s.getLogEvents),
		"FilterLogEvents": awsapi.Op(s.filterLogEvents),
		"GetLogRecord":    awsapi.Op(s.getLogRecord),

		"StartLiveTail": awsapi.Op(s.startLiveTail),

		"StartQuery":      awsapi.Op(s.startQuery),
		"GetQueryResults": awsapi.Op(s.getQueryResults),
		"StopQuery":       awsapi.Op(s.stopQuery),
		"DescribeQueries": awsapi.Op(s.describeQueries),
	}
}

// region is the request's region.
func region(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }

// groupARN is a group's ARN as logGroupArn and the tagging APIs give it;
// DescribeLogGroups' older arn field adds ":*".
func (s *service) groupARN(id logsstate.GroupID) string {
	return "arn:aws:logs:" + id.Region + ":" + s.account + ":log-group:" + id.Name
}

func (s *service) streamARN(id logsstate.GroupID, stream string) string {
	return s.groupARN(id) + ":log-stream:" + stream
}

// groupFromARN returns the group an ARN of a log group names (with or
// without the trailing ":*"). A group of another account is one that does
// not exist.
func (s *service) groupFromARN(arn string) (logsstate.GroupID, error) {
	// arn:<partition>:logs:<region>:<account>:log-group:<name>[:*]
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "logs" || parts[3] == "" || parts[5] != "log-group" {
		return logsstate.GroupID{}, invalidParameter("Invalid ARN: %s", arn) // UNVERIFIED wording
	}
	name := strings.TrimSuffix(parts[6], ":*")
	if name == "" || strings.Contains(name, ":") {
		return logsstate.GroupID{}, invalidParameter("Invalid ARN: %s", arn) // UNVERIFIED wording
	}
	if parts[4] != s.account {
		return logsstate.GroupID{}, errGroupNotFound
	}
	return logsstate.GroupID{Region: parts[3], Name: name}, nil
}

// groupRef returns the group a call names by logGroupName or
// logGroupIdentifier (a name or an ARN), exactly one of which it must give.
func (s *service) groupRef(ctx context.Context, name, identifier *string) (logsstate.GroupID, error) {
	n, ident := awsapi.Deref(name), awsapi.Deref(identifier)
	switch {
	case n != "" && ident != "":
		// UNVERIFIED wording.
		return logsstate.GroupID{}, invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case n != "":
		return logsstate.GroupID{Region: region(ctx), Name: n}, nil
	case strings.HasPrefix(ident, "arn:"):
		return s.groupFromARN(ident)
	case ident != "":
		return logsstate.GroupID{Region: region(ctx), Name: ident}, nil
	}
	// UNVERIFIED wording.
	return logsstate.GroupID{}, invalidParameter("Should provide either name or ARN of the log group.")
}

// newDataID names a new stream's event files.
func newDataID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// millis is t in milliseconds since the epoch.
func millis(t time.Time) int64 { return t.UnixMilli() }
