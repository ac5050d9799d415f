package agentproto

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const testToken = "s3cret"

// pair starts a server that accepts one Conn (after checking the token the
// way the hub does) and dials it.
func pair(t *testing.T) (client, server *Conn) {
	t.Helper()
	accepted := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		c, err := Accept(w, r)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		accepted <- c
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := Dial(ctx, srv.URL, testToken)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	select {
	case server = <-accepted:
	case <-ctx.Done():
		t.Fatal("server did not accept")
	}
	t.Cleanup(func() { client.Close("test over"); server.Close("test over") })
	return client, server
}

func recv(t *testing.T, c *Conn) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	client, server := pair(t)
	ctx := context.Background()
	hello := Message{Hello: &Hello{Version: Version, Node: Node{ID: strings.Repeat("a", 32), Hostname: "h"},
		Tasks: []TaskReport{{Cluster: "default", ID: "t1", Status: TaskStatus{LastStatus: StatusRunning}}}}}
	if err := client.Send(ctx, hello); err != nil {
		t.Fatal(err)
	}
	got := recv(t, server)
	if got.Kind() != "hello" || got.Hello.Node.Hostname != "h" || len(got.Hello.Tasks) != 1 || got.Hello.Tasks[0].Status.LastStatus != StatusRunning {
		t.Fatalf("server got %+v", got)
	}
	if err := server.Send(ctx, Message{Welcome: &Welcome{Version: Version, RegistryHost: "x:1"}}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, client); got.Kind() != "welcome" || got.Welcome.RegistryHost != "x:1" {
		t.Fatalf("client got %+v", got)
	}
}

func TestDialUnauthorized(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "agent token refused", http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, err := Dial(context.Background(), srv.URL, "wrong")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "agent token refused") {
		t.Fatalf("err = %v, want ErrUnauthorized with the body", err)
	}
}

func TestDialBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "x:1", "http://"} {
		if _, err := Dial(context.Background(), u, "t"); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}

func TestDialKeepsPathPrefix(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Path
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	if _, err := Dial(context.Background(), srv.URL+"/berth/", "t"); err == nil || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if p := <-got; p != "/berth"+Path {
		t.Fatalf("path = %q", p)
	}
}

func TestConcurrentSend(t *testing.T) {
	client, server := pair(t)
	const senders, each = 8, 50
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := range each {
				ref := &TaskRef{Cluster: string(rune('a' + i)), ID: strings.Repeat("x", j)}
				if err := client.Send(context.Background(), Message{Forget: ref}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[string]int{}
	for range senders * each {
		m := recv(t, server)
		if m.Forget == nil {
			t.Fatalf("got %+v", m)
		}
		// Each sender's messages arrive in its order.
		if want := seen[m.Forget.Cluster]; len(m.Forget.ID) != want {
			t.Fatalf("sender %s: got message %d, want %d", m.Forget.Cluster, len(m.Forget.ID), want)
		}
		seen[m.Forget.Cluster]++
	}
	wg.Wait()
}

func TestLargeMessage(t *testing.T) {
	client, server := pair(t)
	big := strings.Repeat("z", 2<<20) // far above the library's 32 KiB default
	if err := server.Send(context.Background(), Message{Error: big}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, client); m.Error != big {
		t.Fatalf("got %d bytes", len(m.Error))
	}
}

// rawServer accepts a plain websocket connection and hands it to the test.
func rawServer(t *testing.T) (*Conn, *websocket.Conn) {
	t.Helper()
	accepted := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		accepted <- ws
	}))
	t.Cleanup(srv.Close)
	client, err := Dial(context.Background(), srv.URL, testToken)
	if err != nil {
		t.Fatal(err)
	}
	ws := <-accepted
	t.Cleanup(func() { ws.CloseNow(); client.Close("test over") })
	return client, ws
}

func TestMalformedFrames(t *testing.T) {
	client, ws := rawServer(t)
	ctx := context.Background()
	// The raw side must read for the close handshake and pongs to work.
	go func() {
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	for _, frame := range []string{
		`not json`,
		`{"error":"x","forget":{"cluster":"c","id":"i"}}`,
		`{}`,
		`{"bogus":1}`,
		`{"status":{"cluster":"c","id":"i","status":{"lastStatus":"RUNNING","extra":true}}}`,
		`{"error":"x"} {"error":"y"}`,
	} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Recv(ctx); !errors.Is(err, ErrMalformed) {
			t.Errorf("frame %s: err = %v, want ErrMalformed", frame, err)
		}
	}
	// The connection is still usable.
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"error":"fine"}`)); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, client); m.Error != "fine" {
		t.Fatalf("got %+v", m)
	}
	// A binary frame ends the connection.
	if err := ws.Write(ctx, websocket.MessageBinary, []byte(`{"error":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Recv(ctx); err == nil || errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "binary") {
		t.Fatalf("err = %v", err)
	}
}

func TestLastMessageBeforeCloseIsDelivered(t *testing.T) {
	client, server := pair(t)
	ctx := context.Background()
	if err := server.Send(ctx, Message{Error: "version 9 not spoken"}); err != nil {
		t.Fatal(err)
	}
	if err := server.Close("refused"); err != nil {
		t.Fatal(err)
	}
	<-client.Done()
	if m := recv(t, client); m.Error != "version 9 not spoken" {
		t.Fatalf("got %+v", m)
	}
	_, err := client.Recv(ctx)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want the close reason", err)
	}
	if err := server.Send(ctx, Message{Error: "x"}); err == nil {
		t.Fatal("Send after Close succeeded")
	}
	if err := server.Close("again"); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRecvContextDoesNotCloseConnection(t *testing.T) {
	client, server := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := client.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if err := server.Send(context.Background(), Message{Error: "still here"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, client); m.Error != "still here" {
		t.Fatalf("got %+v", m)
	}
}

func TestDeadPeerIsNoticed(t *testing.T) {
	defer func(i, to time.Duration) { pingInterval, pingTimeout = i, to }(pingInterval, pingTimeout)
	pingInterval, pingTimeout = 20*time.Millisecond, 50*time.Millisecond
	// The raw peer never reads, so it never answers a ping.
	client, _ := rawServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Recv(ctx)
	if err == nil || !strings.Contains(err.Error(), "ping") {
		t.Fatalf("err = %v, want a ping timeout", err)
	}
}

func TestLivePeerSurvivesPings(t *testing.T) {
	defer func(i, to time.Duration) { pingInterval, pingTimeout = i, to }(pingInterval, pingTimeout)
	pingInterval, pingTimeout = 5*time.Millisecond, time.Second
	client, server := pair(t)
	time.Sleep(100 * time.Millisecond) // many pings in both directions
	if err := server.Send(context.Background(), Message{Error: "alive"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, client); m.Error != "alive" {
		t.Fatalf("got %+v", m)
	}
}

func TestTruncateReason(t *testing.T) {
	if got := truncateReason(strings.Repeat("é", 100)); len(got) > 123 || !strings.HasPrefix(strings.Repeat("é", 100), got) || len(got) != 122 {
		t.Fatalf("len %d", len(got))
	}
	if got := truncateReason("short"); got != "short" {
		t.Fatal(got)
	}
}

func TestKind(t *testing.T) {
	for want, m := range map[string]Message{
		"hello": {Hello: &Hello{}}, "welcome": {Welcome: &Welcome{}}, "task": {Task: &DesiredTask{}},
		"status": {Status: &TaskReport{}}, "forget": {Forget: &TaskRef{}}, "error": {Error: "x"},
		"invalid": {}, "": {Error: "x", Task: &DesiredTask{}},
	} {
		if want == "" {
			want = "invalid"
		}
		if got := m.Kind(); got != want {
			t.Errorf("Kind = %q, want %q", got, want)
		}
	}
}
