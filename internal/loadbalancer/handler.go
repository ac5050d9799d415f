package loadbalancer

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/internal/elbv2/elbv2state"
)

// Cookies of stickiness, as ALB names them.
const (
	targetCookie     = "AWSALB"
	targetCORSCookie = "AWSALBCORS"
	groupCookie      = "AWSALBTG"
	groupCORSCookie  = "AWSALBTGCORS"
)

// serverHeader is what ALB calls itself in the responses it makes.
const serverHeader = "awselb/2.0"

// listenerHandler serves the requests of one listener address: it looks up
// the listener in the plane's current table on every request, so a change
// of rules applies to the very next one.
type listenerHandler struct {
	plane *Plane
	addr  netip.AddrPort
}

func (h listenerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.plane.table.Load()
	l := t.listeners[h.addr]
	if l == nil {
		errorPage(w, http.StatusServiceUnavailable)
		return
	}
	start := time.Now()
	source, _ := netip.ParseAddrPort(r.RemoteAddr)
	var query url.Values
	actions := l.defaults
	for _, rule := range l.rules {
		if query == nil {
			query = r.URL.Query()
		}
		if rule.match(r, query, source.Addr().Unmap()) {
			actions = rule.actions
			break
		}
	}
	status := h.act(w, r, t, l, actions, source)
	l.balancer.metrics.request(status)
	l.balancer.metrics.latency.Observe(time.Since(start).Seconds())
}

// act runs a rule's actions (the terminal one: berth serves no
// authenticate actions) and returns the status answered.
func (h listenerHandler) act(w http.ResponseWriter, r *http.Request, t *table, l *listenerRoute, actions []elbv2state.Action, source netip.AddrPort) int {
	if len(actions) == 0 {
		return errorPage(w, http.StatusServiceUnavailable)
	}
	a := actions[len(actions)-1]
	switch a.Type {
	case elbv2state.ActionFixedResponse:
		return fixedResponse(w, a.FixedResponse)
	case elbv2state.ActionRedirect:
		return redirect(w, r, l, a.Redirect)
	case elbv2state.ActionForward:
		return h.forward(w, r, t, l, a, source)
	}
	return errorPage(w, http.StatusInternalServerError)
}

// forward sends a request to a target of the action's groups.
func (h listenerHandler) forward(w http.ResponseWriter, r *http.Request, t *table, l *listenerRoute, a elbv2state.Action, source netip.AddrPort) int {
	f := a.Forward
	if f == nil {
		f = &elbv2state.Forward{TargetGroups: []elbv2state.WeightedTargetGroup{{ARN: a.TargetGroupARN, Weight: 1}}}
	}
	stickyGroup := ""
	if f.Stickiness {
		stickyGroup = cookieValue(r, groupCookie)
	}
	arn := pickGroup(f, stickyGroup)
	g := t.groups[arn]
	if g == nil {
		return errorPage(w, http.StatusServiceUnavailable)
	}
	if f.Stickiness && len(f.TargetGroups) > 1 {
		setSticky(w, groupCookie, groupCORSCookie, arn, time.Duration(f.StickinessSeconds)*time.Second, l.protocol == "HTTPS")
	}
	stickyTarget := ""
	if g.stickyFor > 0 {
		stickyTarget = cookieValue(r, targetCookie)
	}
	now := time.Now()
	tr := pick(g, h.plane.lives, stickyTarget, now)
	if tr == nil {
		// No target registered (or none reachable): ALB answers 503.
		return errorPage(w, http.StatusServiceUnavailable)
	}
	if g.stickyFor > 0 {
		setSticky(w, targetCookie, targetCORSCookie, tr.key, g.stickyFor, l.protocol == "HTTPS")
	}
	lv := h.plane.lives.of(tr.key)
	lv.inflight.Add(1)
	defer lv.inflight.Add(-1)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(lv.ended, cancel)
	defer stop()

	rt := route{listener: l, group: g, target: tr, source: source}
	if g.group.Protocol != "HTTPS" && r.Header.Get("Upgrade") == "" {
		status, err := h.plane.upstreamFor(l.balancer).serve(w, r, outgoing(r.WithContext(ctx), rt), tr.addr)
		if err != nil && status == 0 {
			return h.plane.proxyError(w, r.WithContext(context.WithValue(ctx, routeKey{}, rt)), err)
		}
		return status
	}
	rec := &statusRecorder{ResponseWriter: w}
	h.plane.proxyFor(l.balancer).ServeHTTP(rec, r.WithContext(context.WithValue(ctx, routeKey{}, rt)))
	return rec.status
}

// outgoing is the request a plain-HTTP target gets: the client's, without
// its hop-by-hop headers, with the client's Host and ALB's X-Forwarded and
// trace headers.
func outgoing(r *http.Request, rt route) *http.Request {
	out := &http.Request{
		Method:        r.Method,
		URL:           &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.Header.Clone(),
		Host:          r.Host,
		ContentLength: r.ContentLength,
	}
	if r.Body != nil && r.Body != http.NoBody {
		out.Body = r.Body
	}
	removeHopHeaders(out.Header)
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // no Go default in its place
	}
	setForwarded(out.Header, r, rt)
	return out.WithContext(r.Context())
}

// routeKey carries a request's route to the proxy.
type routeKey struct{}

type route struct {
	listener *listenerRoute
	group    *groupRoute
	target   *targetRoute
	source   netip.AddrPort
}

// rewrite makes the request the target gets: the target's address, the
// client's Host, and the X-Forwarded and trace headers ALB adds.
func rewrite(pr *httputil.ProxyRequest) {
	rt := pr.In.Context().Value(routeKey{}).(route)
	scheme := "http"
	if rt.group.group.Protocol == "HTTPS" {
		scheme = "https"
	}
	pr.Out.URL.Scheme = scheme
	pr.Out.URL.Host = rt.target.addr
	pr.Out.Host = pr.In.Host
	setForwarded(pr.Out.Header, pr.In, rt)
}

// setForwarded sets the X-Forwarded-For (as the load balancer's mode
// says), X-Forwarded-Proto, X-Forwarded-Port and X-Amzn-Trace-Id headers
// of a request to a target.
func setForwarded(h http.Header, in *http.Request, rt route) {
	b := rt.listener.balancer
	client := rt.source.Addr().Unmap().String()
	if b.xffClientPort {
		client = net.JoinHostPort(client, strconv.Itoa(int(rt.source.Port())))
	}
	switch b.xffMode {
	case "remove":
		h.Del("X-Forwarded-For")
	case "preserve":
		if in.Header.Get("X-Forwarded-For") == "" {
			h.Set("X-Forwarded-For", client)
		}
	default:
		if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			h.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+client)
		} else {
			h.Set("X-Forwarded-For", client)
		}
	}
	h.Set("X-Forwarded-Proto", strings.ToLower(rt.listener.protocol))
	h.Set("X-Forwarded-Port", strconv.Itoa(int(rt.listener.port)))
	if in.Header.Get("X-Amzn-Trace-Id") == "" {
		h.Set("X-Amzn-Trace-Id", traceID(time.Now()))
	}
}

// traceID is a new X-Amzn-Trace-Id: Root=1-<epoch seconds, 8 hex>-<24 hex>.
// The id needs to be unique, not secret: math/rand spares every request a
// getrandom call.
func traceID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], rand.Uint64())
	binary.BigEndian.PutUint32(b[8:], rand.Uint32())
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b[:]))
}

// proxyError answers a request the target did not: 504 when it did not
// answer in time, 502 otherwise (refused, reset, a malformed response).
func (p *Plane) proxyError(w http.ResponseWriter, r *http.Request, err error) int {
	if rt, ok := r.Context().Value(routeKey{}).(route); ok {
		p.log.Debug("a target did not answer", "loadBalancer", rt.listener.balancer.name, "target", rt.target.addr, "err", err)
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away, or the target's drain ended: ALB logs 460
		// or closes; nobody reads this answer.
		w.WriteHeader(http.StatusBadGateway)
		return http.StatusBadGateway
	case errors.Is(err, errUpstreamTimeout), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errorPage(w, http.StatusGatewayTimeout)
	default:
		return errorPage(w, http.StatusBadGateway)
	}
}

// errorPage answers status with ALB's own page, and returns status.
func errorPage(w http.ResponseWriter, status int) int {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n"
	h := w.Header()
	h.Set("Server", serverHeader)
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
	return status
}

// fixedResponse answers with a fixed-response action's status and body.
func fixedResponse(w http.ResponseWriter, f *elbv2state.FixedResponse) int {
	if f == nil {
		return errorPage(w, http.StatusInternalServerError)
	}
	status, err := strconv.Atoi(f.StatusCode)
	if err != nil {
		return errorPage(w, http.StatusInternalServerError)
	}
	h := w.Header()
	h.Set("Server", serverHeader)
	if f.ContentType != "" {
		h.Set("Content-Type", f.ContentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(f.MessageBody)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.MessageBody))
	return status
}

// redirect answers with a redirect action's URL, its #{...} parts taken
// from the request.
func redirect(w http.ResponseWriter, r *http.Request, l *listenerRoute, rd *elbv2state.Redirect) int {
	if rd == nil {
		return errorPage(w, http.StatusInternalServerError)
	}
	u := redirectURL(rd, strings.ToLower(l.protocol), hostOnly(r.Host), strconv.Itoa(int(l.port)), r.URL.Path, r.URL.RawQuery)
	status := http.StatusFound
	if rd.StatusCode == "HTTP_301" {
		status = http.StatusMovedPermanently
	}
	h := w.Header()
	h.Set("Server", serverHeader)
	h.Set("Location", u)
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
	return status
}

// redirectURL builds a redirect's target. Protocol is lower-cased; the
// default port of the protocol is left out, as ALB does.
func redirectURL(rd *elbv2state.Redirect, protocol, host, port, path, query string) string {
	sub := strings.NewReplacer("#{protocol}", protocol, "#{host}", host, "#{port}", port,
		"#{path}", strings.TrimPrefix(path, "/"), "#{query}", query)
	proto := strings.ToLower(sub.Replace(orDefault(rd.Protocol, "#{protocol}")))
	h := sub.Replace(orDefault(rd.Host, "#{host}"))
	p := sub.Replace(orDefault(rd.Port, "#{port}"))
	pth := sub.Replace(orDefault(rd.Path, "/#{path}"))
	if !strings.HasPrefix(pth, "/") {
		pth = "/" + pth
	}
	q := sub.Replace(orDefault(rd.Query, "#{query}"))
	u := proto + "://" + h
	if !(proto == "http" && p == "80" || proto == "https" && p == "443") {
		u += ":" + p
	}
	u += pth
	if q != "" {
		u += "?" + q
	}
	return u
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// cookieValue is the decoded value of a stickiness cookie ("" without one).
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(b)
}

// setSticky sets a stickiness cookie and its CORS twin (SameSite=None,
// which browsers take only when Secure).
func setSticky(w http.ResponseWriter, name, corsName, value string, d time.Duration, secure bool) {
	v := base64.RawURLEncoding.EncodeToString([]byte(value))
	expires := time.Now().Add(d)
	http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/", Expires: expires})
	http.SetCookie(w, &http.Cookie{Name: corsName, Value: v, Path: "/", Expires: expires, SameSite: http.SameSiteNoneMode, Secure: secure})
}

// statusRecorder notes the status a proxied response had.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// WebSocket upgrades).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
