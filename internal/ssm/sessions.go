package ssm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ssm/ssmstate"
	"github.com/berth/berth/internal/ssm/ssmtypes"
	"github.com/berth/berth/internal/store"
)

// Session Manager's session operations, on the ECS Exec sessions ECS's
// ExecuteCommand records (ssmstate.Session): DescribeSessions lists them,
// TerminateSession ends one, ResumeSession gives the client a new token
// to open its data channel again. Every session berth keeps is of the
// Standard access type.

const (
	// maxSessionPage is DescribeSessions' largest page (the model's
	// SessionMaxResults).
	maxSessionPage = 200
	// defaultSessionPage is a DescribeSessions page when the call does
	// not say.
	// UNVERIFIED: Systems Manager does not document its default; berth
	// answers with its largest page.
	defaultSessionPage = maxSessionPage
	// sessionHistory is how long History keeps an ended session: the
	// model says DescribeSessions lists "terminated sessions from the
	// past 30 days".
	sessionHistory = 30 * 24 * time.Hour
	// maxSessionReason is the model's length limit of a Session's Reason.
	maxSessionReason = 256

	accessTypeStandard   = "Standard"
	accessTypeJustInTime = "JustInTime"
)

// sessionStatuses are the statuses a Status filter may name, in the
// model's order.
var sessionStatuses = []string{
	ssmstate.SessionConnected, ssmstate.SessionConnecting, ssmstate.SessionDisconnected,
	ssmstate.SessionTerminated, ssmstate.SessionTerminating, ssmstate.SessionFailed,
}

// sessionFilterKeys are the SessionFilter keys, in the model's order.
var sessionFilterKeys = []string{
	ssmtypes.SessionFilterKeyInvokedAfter, ssmtypes.SessionFilterKeyInvokedBefore, ssmtypes.SessionFilterKeyTarget,
	ssmtypes.SessionFilterKeyOwner, ssmtypes.SessionFilterKeyStatus, ssmtypes.SessionFilterKeySessionId,
	ssmtypes.SessionFilterKeyAccessType,
}

// sessionTimeLayouts are the forms an InvokedAfter or InvokedBefore value
// may take: the model's example (2024-08-29T00:00:00Z) is RFC 3339; a
// time without a zone, and a bare date, are UTC.
// UNVERIFIED: which other ISO 8601 forms Systems Manager accepts.
var sessionTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"}

// sessionFilter is one SessionFilter, checked.
type sessionFilter func(ssmstate.Session) bool

// parseSessionFilters checks DescribeSessions' filters. Filters combine
// with AND, a key given twice too.
// UNVERIFIED: what Systems Manager makes of a key given twice. It lists
// only InvalidFilterKey among DescribeSessions' errors, so a value that is
// no timestamp, status or access type is InvalidFilterKey too, with a
// message that says which value is wrong; the messages are berth's own.
func parseSessionFilters(in []ssmtypes.SessionFilter) ([]sessionFilter, error) {
	out := make([]sessionFilter, 0, len(in))
	for _, f := range in {
		key, value := awsapi.Deref(f.Key), awsapi.Deref(f.Value)
		var match sessionFilter
		switch key {
		case ssmtypes.SessionFilterKeyInvokedAfter, ssmtypes.SessionFilterKeyInvokedBefore:
			t, ok := parseSessionTime(value)
			if !ok {
				return nil, awsapi.WithMessage(errInvalidFilterKey,
					"The following filter value is not valid: %s. The %s filter takes a timestamp such as 2024-08-29T00:00:00Z.", value, key)
			}
			if key == ssmtypes.SessionFilterKeyInvokedAfter {
				// "sessions that started August 29, 2024, and later"
				match = func(s ssmstate.Session) bool { return !s.StartDate.Before(t) }
			} else {
				// "sessions that started before August 29, 2024"
				match = func(s ssmstate.Session) bool { return s.StartDate.Before(t) }
			}
		case ssmtypes.SessionFilterKeyTarget:
			match = func(s ssmstate.Session) bool { return s.Target == value }
		case ssmtypes.SessionFilterKeyOwner:
			match = func(s ssmstate.Session) bool { return s.Owner == value }
		case ssmtypes.SessionFilterKeySessionId:
			match = func(s ssmstate.Session) bool { return s.ID == value }
		case ssmtypes.SessionFilterKeyStatus:
			if !slices.Contains(sessionStatuses, value) {
				return nil, awsapi.WithMessage(errInvalidFilterKey, "The following filter value is not valid: %s. Valid values for the Status filter include: [%s].",
					value, strings.Join(sessionStatuses, ", "))
			}
			match = func(s ssmstate.Session) bool { return s.Status == value }
		case ssmtypes.SessionFilterKeyAccessType:
			if value != accessTypeStandard && value != accessTypeJustInTime {
				return nil, awsapi.WithMessage(errInvalidFilterKey, "The following filter value is not valid: %s. Valid values for the AccessType filter include: [%s, %s].",
					value, accessTypeStandard, accessTypeJustInTime)
			}
			match = func(ssmstate.Session) bool { return value == accessTypeStandard }
		default:
			// The gateway refuses a key outside the model's enum first;
			// this answers a caller that skips it.
			return nil, awsapi.WithMessage(errInvalidFilterKey, "The following filter key is not valid: %s. Valid filter keys include: [%s].",
				key, strings.Join(sessionFilterKeys, ", "))
		}
		out = append(out, match)
	}
	return out, nil
}

// matchSession reports whether a session passes every filter.
func matchSession(filters []sessionFilter, s ssmstate.Session) bool {
	for _, f := range filters {
		if !f(s) {
			return false
		}
	}
	return true
}

func parseSessionTime(v string) (time.Time, bool) {
	for _, layout := range sessionTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// inState reports whether a session belongs to a DescribeSessions state
// at now: Active is every session that has not ended (Connecting,
// Connected, Disconnected, Terminating); History the ended ones
// (Terminated, Failed) of the past 30 days.
func inState(s ssmstate.Session, state string, now time.Time) bool {
	if state == ssmtypes.SessionStateActive {
		return !s.Ended()
	}
	if !s.Ended() {
		return false
	}
	ended := s.EndDate
	if ended.IsZero() {
		ended = s.StartDate
	}
	// UNVERIFIED: the model's "past 30 days", counted from the session's end.
	return now.Sub(ended) <= sessionHistory
}

// sessionOrder is a session's key in DescribeSessions' order: newest
// first by StartDate, then by id. The start's seconds are inverted (with
// the sign bit flipped, so that negative times sort too) and so are its
// nanoseconds.
func sessionOrder(s ssmstate.Session) string {
	secs := ^(uint64(s.StartDate.Unix()) ^ 1<<63)
	nanos := 999_999_999 - s.StartDate.Nanosecond()
	return fmt.Sprintf("%016x.%09d|%s", secs, nanos, s.ID)
}

func (s *service) describeSessions(ctx context.Context, in *ssmtypes.DescribeSessionsRequest) (*ssmtypes.DescribeSessionsResponse, error) {
	state := awsapi.Deref(in.State)
	if state != ssmtypes.SessionStateActive && state != ssmtypes.SessionStateHistory {
		// The gateway checks the enum first; this answers a caller that
		// skips it.
		return nil, invalid("State must be one of [%s, %s].", ssmtypes.SessionStateActive, ssmtypes.SessionStateHistory)
	}
	filters, err := parseSessionFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	limit := int(awsapi.Deref(in.MaxResults))
	if limit <= 0 || limit > maxSessionPage {
		limit = defaultSessionPage
	}
	sessions, _, err := store.List[ssmstate.Session](ctx, s.store, ssmstate.RegionSessions(region(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	now := s.now()
	var matched []ssmstate.Session
	for _, sv := range sessions {
		sess := sv.Value
		if inState(sess, state, now) && matchSession(filters, sess) {
			matched = append(matched, sess)
		}
	}
	page, next, ok := awsapi.PageByKey(matched, sessionOrder, awsapi.Deref(in.NextToken), limit)
	if !ok {
		return nil, errInvalidToken()
	}
	out := &ssmtypes.DescribeSessionsResponse{Sessions: make([]ssmtypes.Session, 0, len(page)), NextToken: next}
	for _, sess := range page {
		out.Sessions = append(out.Sessions, sessionOutput(sess))
	}
	return out, nil
}

// sessionOutput is a session as DescribeSessions shows it. Details and
// MaxSessionDuration are not set: berth's sessions have neither.
func sessionOutput(s ssmstate.Session) ssmtypes.Session {
	out := ssmtypes.Session{
		SessionId:    awsapi.String(s.ID),
		Target:       awsapi.String(s.Target),
		Status:       awsapi.String(s.Status),
		StartDate:    awsapi.Time(s.StartDate),
		EndDate:      awsapi.OptionalTime(s.EndDate),
		DocumentName: awsapi.OptionalString(s.DocumentName),
		Owner:        awsapi.OptionalString(s.Owner),
		// UNVERIFIED: Systems Manager's Reason is the one StartSession was
		// given for connecting; ECS Exec sessions have none, so berth shows
		// why a session failed or ended there, cut to the model's 256
		// characters.
		Reason:     awsapi.OptionalString(truncateRunes(s.Reason, maxSessionReason)),
		AccessType: awsapi.String(accessTypeStandard),
	}
	if l := s.Log; l != nil {
		r := l.Region
		if r == "" {
			r = s.Region
		}
		// UNVERIFIED: the console URL form of the session's log stream.
		out.OutputUrl = &ssmtypes.SessionManagerOutputUrl{CloudWatchOutputUrl: awsapi.String(
			"https://console.aws.amazon.com/cloudwatch/home?region=" + r + "#logEventViewer:group=" + l.Group + ";stream=" + l.Stream)}
	}
	return out
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// terminateSession ends a session. Systems Manager answers success with
// the id for any id, TerminateSession being idempotent (the model lists
// no error but InternalServerError): a session that does not exist, or
// has ended already, is left as it is.
func (s *service) terminateSession(ctx context.Context, in *ssmtypes.TerminateSessionRequest) (*ssmtypes.TerminateSessionResponse, error) {
	id := awsapi.Deref(in.SessionId)
	_, err := store.Update(ctx, s.store, ssmstate.SessionKey(region(ctx), id), func(sess *ssmstate.Session, found bool) error {
		if !found || !sess.End(ssmstate.SessionTerminated, "", s.now()) {
			return store.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ssmtypes.TerminateSessionResponse{SessionId: awsapi.String(id)}, nil
}

// resumeSession gives a session's client a new token to open its data
// channel with; the session's status stays as it is. A session that has
// ended gets no token and no stream URL: the Session Manager plugin then
// tells its user the session timed out.
// UNVERIFIED: that Systems Manager answers an ended session this way
// rather than with an error.
func (s *service) resumeSession(ctx context.Context, in *ssmtypes.ResumeSessionRequest) (*ssmtypes.ResumeSessionResponse, error) {
	id := awsapi.Deref(in.SessionId)
	var token string
	sess, err := store.Update(ctx, s.store, ssmstate.SessionKey(region(ctx), id), func(sess *ssmstate.Session, found bool) error {
		token = ""
		switch {
		case !found:
			return sessionNotFound(id)
		case sess.Ended():
			return store.ErrUnchanged
		}
		token = sess.IssueToken(s.now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &ssmtypes.ResumeSessionResponse{SessionId: awsapi.String(sess.ID)}
	if token != "" {
		out.TokenValue = awsapi.String(token)
		out.StreamUrl = awsapi.String(ssmstate.StreamURL(awsapi.RequestFrom(ctx).Endpoint, sess.Region, sess.ID))
	}
	return out, nil
}
