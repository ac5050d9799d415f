package logs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
)

// The model's rules for names, which the gateway checks on API calls.
var (
	validGroupName  = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	validStreamName = regexp.MustCompile(`^[^:*]{1,512}$`)
)

// maxAgentBody bounds an agent's log request: a batch holds at most 1 MiB
// of messages, plus their JSON.
const maxAgentBody = 4 << 20

// agentHandler is where agents deliver what containers with the awslogs
// driver print: they prepare each container's stream before it starts and
// then send batches, each stored once (see agentproto.LogBatch).
type agentHandler struct {
	s     *service
	token string
	roles ExecutionRoles
	mux   *http.ServeMux
}

// ExecutionRoles authorizes what an agent does for a task as the task's
// execution role, as the ECS agent writes a task's logs with that role's
// credentials. The agent hub and the IAM directory answer it.
type ExecutionRoles interface {
	// AuthorizeExecutionRole decides accesses for the task's execution
	// role (a task without one acts as its container instance, which may);
	// a denial is an *awsapi.AccessDenied.
	AuthorizeExecutionRole(ctx context.Context, taskARN string, accesses []awsapi.Access) error
}

func newAgentHandler(s *service, token string, roles ExecutionRoles) http.Handler {
	h := &agentHandler{s: s, token: token, roles: roles, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST "+agentproto.LogStreamPath, h.prepare)
	h.mux.HandleFunc("POST "+agentproto.LogBatchPath, h.batch)
	return h
}

func (h *agentHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !agentproto.Authorized(r, h.token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth agent"`)
		writeAgentError(w, http.StatusUnauthorized, agentproto.LogError{Code: "AccessDeniedException", Message: "agent token refused"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// prepare makes sure a stream (and, when asked, its group) exists, and
// answers the producer's stored position.
func (h *agentHandler) prepare(w http.ResponseWriter, r *http.Request) {
	var req agentproto.LogStreamRequest
	if !decodeAgentRequest(w, r, &req) {
		return
	}
	if !validGroupName.MatchString(req.Group) || !validStreamName.MatchString(req.Stream) || req.Region == "" {
		writeAgentError(w, http.StatusBadRequest, agentproto.LogError{Code: "InvalidParameterException",
			Message: "invalid log group or stream name: " + req.Group + ", " + req.Stream})
		return
	}
	ctx := r.Context()
	id := logsstate.GroupID{Region: req.Region, Name: req.Group}
	if h.roles != nil && req.TaskARN != "" {
		// The stream is the task's to write only if its execution role
		// may create it (and the group, when asked to); the batches that
		// follow go to the stream so prepared.
		accesses := []awsapi.Access{{Action: "logs:CreateLogStream", Resource: h.s.streamARN(id, req.Stream)}}
		if req.CreateGroup {
			accesses = append(accesses, awsapi.Access{Action: "logs:CreateLogGroup", Resource: h.s.groupARN(id) + ":log-stream:"})
		}
		err := h.roles.AuthorizeExecutionRole(ctx, req.TaskARN, accesses)
		var denied *awsapi.AccessDenied
		switch {
		case errors.As(err, &denied):
			writeAgentError(w, http.StatusForbidden, agentproto.LogError{Code: "AccessDeniedException", Message: denied.Message})
			return
		case err != nil:
			h.fail(w, r, err)
			return
		}
	}
	if req.CreateGroup {
		err := h.s.putNewGroup(ctx, logsstate.LogGroup{Region: id.Region, Name: id.Name, CreationTime: millis(h.s.now()), LogGroupClass: defaultGroupClass})
		if err != nil && !errors.Is(err, errGroupExists) {
			h.fail(w, r, err)
			return
		}
	}
	st, err := h.s.streamOrCreate(ctx, id, req.Stream)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cursor, err := h.s.data.ProducerCursor(logdata.StreamID(st.DataID), req.Producer)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeAgentJSON(w, http.StatusOK, agentproto.LogStreamResponse{Cursor: cursor})
}

// batch stores a batch if the producer's position is still the one it
// follows.
func (h *agentHandler) batch(w http.ResponseWriter, r *http.Request) {
	var b agentproto.LogBatch
	if !decodeAgentRequest(w, r, &b) {
		return
	}
	if b.Producer == "" || b.Cursor == "" {
		writeAgentError(w, http.StatusBadRequest, agentproto.LogError{Code: "InvalidParameterException", Message: "a batch needs a producer and a cursor"})
		return
	}
	size := 0
	events := make([]logdata.Event, len(b.Events))
	for i, e := range b.Events {
		events[i] = logdata.Event(e)
		size += len(e.Message) + eventOverhead
	}
	if len(events) > maxEventsPerGet || size > maxBatchBytes {
		writeAgentError(w, http.StatusBadRequest, agentproto.LogError{Code: "InvalidParameterException", Message: "a batch holds at most 10,000 events and 1,048,576 bytes"})
		return
	}
	ctx := r.Context()
	// A stream deleted while its container runs is created again, as the
	// container goes on printing.
	st, err := h.s.streamOrCreate(ctx, logsstate.GroupID{Region: b.Region, Name: b.Group}, b.Stream)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, err = h.s.appendEvents(ctx, st, logdata.AppendRequest{Stream: logdata.StreamID(st.DataID), Events: events,
		Producer: b.Producer, After: b.After, Cursor: b.Cursor})
	var mismatch *logdata.CursorMismatchError
	if errors.As(err, &mismatch) {
		writeAgentError(w, http.StatusConflict, agentproto.LogError{Code: agentproto.LogCursorMismatch,
			Message: "the batch does not follow the stored position", Cursor: mismatch.Stored})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeAgentJSON(w, http.StatusOK, agentproto.LogBatchResponse{Cursor: b.Cursor})
}

// streamOrCreate returns a stream of an existing group, creating it if
// needed.
func (s *service) streamOrCreate(ctx context.Context, id logsstate.GroupID, name string) (logsstate.LogStream, error) {
	st, err := s.stream(ctx, id, name)
	if !errors.Is(err, errStreamNotFound) {
		return st, err
	}
	st, err = s.createStream(ctx, id, name)
	if errors.Is(err, errStreamExists) {
		return s.stream(ctx, id, name)
	}
	return st, err
}

func (h *agentHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errGroupNotFound):
		writeAgentError(w, http.StatusNotFound, agentproto.LogError{Code: "ResourceNotFoundException", Message: "The specified log group does not exist."})
	case errors.Is(err, errInvalidParameter):
		writeAgentError(w, http.StatusBadRequest, agentproto.LogError{Code: "InvalidParameterException", Message: err.Error()})
	default:
		h.s.log.ErrorContext(r.Context(), "agent log request failed", "path", r.URL.Path, "err", err)
		writeAgentError(w, http.StatusInternalServerError, agentproto.LogError{Code: "ServiceUnavailableException", Message: "The service cannot complete the request."})
	}
}

func decodeAgentRequest(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAgentBody+1))
	if err == nil && len(body) > maxAgentBody {
		err = errors.New("request too large")
	}
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeAgentError(w, http.StatusBadRequest, agentproto.LogError{Code: "InvalidParameterException", Message: "bad log request: " + err.Error()})
		return false
	}
	return true
}

func writeAgentError(w http.ResponseWriter, status int, e agentproto.LogError) {
	writeAgentJSON(w, status, e)
}

func writeAgentJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
