package ssmstate

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// Session Manager sessions: ECS Exec's sessions into containers. ECS's
// ExecuteCommand creates one; the session endpoint (ssmmessages) opens
// its data channel with the session's token and records how it goes; the
// SSM API describes, resumes and terminates it.
//
//	ssm/session/<region>|<session id>    Session
const SessionPrefix = "ssm/session/"

// SessionKey is the key of a session's record.
func SessionKey(region, id string) string { return SessionPrefix + region + "|" + id }

// RegionSessions is the prefix of every session of a region.
func RegionSessions(region string) string { return SessionPrefix + region + "|" }

// Session statuses, Session Manager's own.
const (
	SessionConnecting   = "Connecting"
	SessionConnected    = "Connected"
	SessionDisconnected = "Disconnected"
	SessionTerminating  = "Terminating"
	SessionTerminated   = "Terminated"
	SessionFailed       = "Failed"
)

// ExecDocument is the Session Manager document ECS Exec sessions run.
const ExecDocument = "AmazonECS-ExecuteInteractiveCommand"

// TokenLifetime is how long a session token opens the data channel: long
// enough for the CLI to start the plugin, short enough that a token seen
// in a process list or a log is of no use later.
const TokenLifetime = time.Minute

// Session is one session's record.
type Session struct {
	Region string `json:"region"`
	ID     string `json:"id"`
	// Target is the session's target as Session Manager names an ECS
	// Exec target: "ecs:<cluster>_<task id>_<container runtime id>".
	Target       string `json:"target"`
	DocumentName string `json:"documentName"`
	// Owner is the ARN of who started the session.
	Owner     string    `json:"owner"`
	Status    string    `json:"status"`
	StartDate time.Time `json:"startDate"`
	EndDate   time.Time `json:"endDate,omitzero"`
	// Reason says why a session failed or ended, when berth knows.
	Reason string `json:"reason,omitempty"`

	// Where the command runs.
	ClusterARN    string `json:"clusterArn"`
	Cluster       string `json:"cluster"`
	TaskARN       string `json:"taskArn"`
	TaskID        string `json:"taskId"`
	ContainerName string `json:"containerName"`
	ContainerARN  string `json:"containerArn"`
	RuntimeID     string `json:"runtimeId"`
	NodeID        string `json:"nodeId"`
	Command       string `json:"command"`
	Interactive   bool   `json:"interactive"`

	// Log is where the session's output is recorded (nil: nowhere).
	Log *SessionLog `json:"log,omitempty"`

	// TokenHash is the SHA-256 (hex) of the token that may open the data
	// channel, until TokenExpires; it is cleared when used, so a token
	// opens the channel once.
	TokenHash    string    `json:"tokenHash,omitempty"`
	TokenExpires time.Time `json:"tokenExpires,omitzero"`
}

// SessionLog is the CloudWatch Logs stream a session's output goes to.
type SessionLog struct {
	Region string `json:"region"`
	Group  string `json:"group"`
	Stream string `json:"stream"`
}

// Ended reports whether the session is over.
func (s Session) Ended() bool {
	return s.Status == SessionTerminated || s.Status == SessionFailed
}

// End ends a session that has not ended, at now, with status (Terminated
// or Failed) and, when not empty, reason; its token is revoked. It
// reports whether it changed anything: a session that has already ended
// keeps its record.
func (s *Session) End(status, reason string, now time.Time) bool {
	if s.Ended() {
		return false
	}
	s.Status, s.EndDate = status, now
	if reason != "" {
		s.Reason = reason
	}
	s.TokenHash, s.TokenExpires = "", time.Time{}
	return true
}

// IssueToken gives the session a new token, valid from now for
// TokenLifetime, and returns it. Only its hash is kept.
func (s *Session) IssueToken(now time.Time) string {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	s.TokenHash = hashToken(token)
	s.TokenExpires = now.Add(TokenLifetime)
	return token
}

// TakeToken reports whether token is the session's current, unexpired
// token, and if so uses it up: the caller writes the record back guarded
// by the revision it read, so two connections racing with one token
// cannot both win.
func (s *Session) TakeToken(token string, now time.Time) bool {
	if s.TokenHash == "" || token == "" || !now.Before(s.TokenExpires) {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(s.TokenHash)) != 1 {
		return false
	}
	s.TokenHash, s.TokenExpires = "", time.Time{}
	return true
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewSessionID returns an ECS Exec session id as Session Manager forms
// them: "ecs-execute-command-" and 17 hex digits.
func NewSessionID() string {
	b := make([]byte, 9)
	rand.Read(b)
	return "ecs-execute-command-" + hex.EncodeToString(b)[:17]
}

// DataChannelPath is the path of a session's data channel on berth's
// port; the rest of its stream URL is the endpoint the client used.
const DataChannelPath = "/v1/data-channel/"

// StreamURL is the URL the Session Manager client opens a session's data
// channel at, given the endpoint ("http(s)://host:port") it called. Where
// AWS names the region in the host, berth names it in the query.
func StreamURL(endpoint, region, sessionID string) string {
	ws := "ws" + strings.TrimPrefix(endpoint, "http")
	return ws + DataChannelPath + sessionID + "?role=publish_subscribe&region=" + url.QueryEscape(region)
}
