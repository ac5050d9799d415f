package loadbalancer

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth/berth/internal/elbv2/elbv2state"
)

// TestUpstreamForwards sends requests through the plain-HTTP path: bodies
// both ways, the client's Host and ALB's headers, hop-by-hop headers
// dropped, streamed responses, connections kept alive and a stale one
// replaced.
func TestUpstreamForwards(t *testing.T) {
	var conns atomic.Int32
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("X-Seen", fmt.Sprintf("%s %s host=%s xff=%s proto=%s port=%s te=%q conn=%q ua=%q",
				r.Method, body, r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"),
				r.Header.Get("X-Forwarded-Port"), r.Header.Get("Te"), r.Header.Get("Connection"), r.Header.Get("User-Agent")))
			fmt.Fprint(w, "ok")
		case "/stream":
			for i := range 3 {
				fmt.Fprintf(w, "part %d\n", i)
				w.(http.Flusher).Flush()
			}
		}
	}))
	target.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	target.Start()
	defer target.Close()
	addr := strings.TrimPrefix(target.URL, "http://")

	u := newUpstream(nil, 5*time.Second)
	defer u.close()
	rt := route{
		listener: &listenerRoute{protocol: "HTTP", port: 80, balancer: &balancerRoute{xffMode: "append"}},
		group:    &groupRoute{group: elbv2state.TargetGroup{Protocol: "HTTP"}},
		target:   &targetRoute{addr: addr},
		source:   netip.MustParseAddrPort("10.0.0.9:5555"),
	}
	do := func(method, path, body string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, "http://api.example.com"+path, strings.NewReader(body))
		if body == "" {
			r.Body = http.NoBody
		}
		r.Header.Set("Connection", "keep-alive, X-Private")
		r.Header.Set("X-Private", "hop")
		r.Header.Set("Te", "trailers")
		r.Header.Set("X-Forwarded-For", "1.2.3.4")
		w := httptest.NewRecorder()
		if _, err := u.serve(w, r, outgoing(r, rt), addr); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return w
	}
	w := do("POST", "/echo", "hello")
	if got := w.Header().Get("X-Seen"); got != `POST hello host=api.example.com xff=1.2.3.4, 10.0.0.9 proto=http port=80 te="" conn="" ua=""` || w.Body.String() != "ok" {
		t.Errorf("the target saw %q, answered %q", got, w.Body.String())
	}
	for range 5 {
		do("GET", "/echo", "")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 6 requests, want 1 kept alive", n)
	}
	if w := do("GET", "/stream", ""); w.Body.String() != "part 0\npart 1\npart 2\n" || !w.Flushed {
		t.Errorf("stream: %q flushed %v", w.Body.String(), w.Flushed)
	}
	// The target drops its idle connections: the next request goes on a
	// new one.
	target.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if w := do("GET", "/echo", ""); w.Body.String() != "ok" {
		t.Errorf("after the target closed the idle connection: %q", w.Body.String())
	}
}
