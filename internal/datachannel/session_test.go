package datachannel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// link is one direction of an in-memory transport; mangle, when set,
// decides what the receiver gets for each frame sent (nothing: lost;
// twice: duplicated; the previous one after it: reordered).
type link struct {
	frames chan []byte
	mu     sync.Mutex
	n      int
	held   []byte
	mangle func(n int, frame []byte) (send [][]byte, hold bool)
}

func newLink() *link { return &link{frames: make(chan []byte, 1<<16)} }

func (l *link) send(frame []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	out := [][]byte{frame}
	hold := false
	if l.mangle != nil {
		out, hold = l.mangle(l.n, frame)
	}
	for _, f := range out {
		l.frames <- append([]byte(nil), f...)
	}
	if l.held != nil && !hold {
		l.frames <- l.held
		l.held = nil
	}
	if hold {
		l.held = append([]byte(nil), frame...)
	}
}

// end is one side's transport: it reads from one link, writes to another.
type end struct {
	in, out *link
	closed  chan struct{}
}

func (e *end) ReadFrame(ctx context.Context) ([]byte, error) {
	select {
	case f := <-e.in.frames:
		return f, nil
	case <-e.closed:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *end) WriteFrame(ctx context.Context, frame []byte) error {
	select {
	case <-e.closed:
		return io.ErrClosedPipe
	default:
	}
	e.out.send(frame)
	return nil
}

func pair() (agent, client *end, toClient, toAgent *link) {
	toClient, toAgent = newLink(), newLink()
	closed := make(chan struct{})
	return &end{in: toAgent, out: toClient, closed: closed}, &end{in: toClient, out: toAgent, closed: closed}, toClient, toAgent
}

// fakeProcess is a command: it echoes its input as a terminal would,
// runs "exit N" and "flood N" (N bytes of output) lines, and reports
// its terminal sizes.
type fakeProcess struct {
	mu      sync.Mutex
	out     *io.PipeWriter
	outR    *io.PipeReader
	line    []byte
	code    int
	exited  chan struct{}
	sizes   []SizeData
	flood   []byte
	closeMu sync.Once
}

func newFakeProcess(cols, rows uint) *fakeProcess {
	r, w := io.Pipe()
	return &fakeProcess{out: w, outR: r, exited: make(chan struct{}), sizes: []SizeData{{Cols: uint32(cols), Rows: uint32(rows)}}}
}

func (p *fakeProcess) Read(b []byte) (int, error) { return p.outR.Read(b) }

func (p *fakeProcess) Write(b []byte) (int, error) {
	for _, c := range b {
		switch c {
		case '\r':
			p.out.Write([]byte("\r\n"))
			p.run(string(p.line))
			p.line = nil
		default:
			p.out.Write([]byte{c})
			p.line = append(p.line, c)
		}
	}
	return len(b), nil
}

func (p *fakeProcess) run(line string) {
	var n int
	switch {
	case strings.HasPrefix(line, "exit "):
		p.exit(atoi(line[5:]))
	case strings.HasPrefix(line, "flood "):
		n = atoi(line[6:])
		p.flood = make([]byte, n)
		rand.Read(p.flood)
		go func() {
			p.out.Write(p.flood)
			p.exit(0)
		}()
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func (p *fakeProcess) exit(code int) {
	p.closeMu.Do(func() {
		p.code = code
		close(p.exited)
		p.out.Close()
	})
}

func (p *fakeProcess) CloseInput() error { return nil }

func (p *fakeProcess) Resize(ctx context.Context, cols, rows uint) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sizes = append(p.sizes, SizeData{Cols: uint32(cols), Rows: uint32(rows)})
	return nil
}

func (p *fakeProcess) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.exited:
		return p.code, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (p *fakeProcess) Close() error {
	p.exit(137)
	return nil
}

type session struct {
	proc    chan *fakeProcess
	code    int
	served  chan error
	closed  *ChannelClosedContent
	ran     chan error
	out     *syncBuffer
	inW     *io.PipeWriter
	sizes   chan SizeData
	agentCh *Channel
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func startSession(t *testing.T, mangleToClient, mangleToAgent func(int, []byte) ([][]byte, bool)) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	agentEnd, clientEnd, toClient, toAgent := pair()
	toClient.mangle, toAgent.mangle = mangleToClient, mangleToAgent
	s := &session{proc: make(chan *fakeProcess, 1), served: make(chan error, 1), ran: make(chan error, 1), out: &syncBuffer{}, sizes: make(chan SizeData, 4)}
	agentCh, clientCh := NewChannel(agentEnd, AgentSide), NewChannel(clientEnd, ClientSide)
	s.agentCh = agentCh
	go agentCh.Run(ctx)
	go clientCh.Run(ctx)
	agent := AgentSession{
		SessionID: "ecs-execute-command-0123456789abcdef0", Command: "/bin/sh", Interactive: true, AgentVersion: "3.3.0.0",
		Start: func(ctx context.Context, cols, rows uint) (Process, error) {
			p := newFakeProcess(cols, rows)
			s.proc <- p
			return p, nil
		},
	}
	go func() {
		code, err := agent.Serve(ctx, agentCh)
		s.code = code
		s.served <- err
	}()
	inR, inW := io.Pipe()
	s.inW = inW
	s.sizes <- SizeData{Cols: 120, Rows: 40}
	client := ClientSession{ClientVersion: "1.3.0.0", In: inR, Out: s.out, Sizes: s.sizes}
	go func() {
		closed, err := client.Run(ctx, clientCh)
		s.closed = closed
		s.ran <- err
	}()
	return s
}

func (s *session) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.served:
		if err != nil {
			t.Fatalf("agent side: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("agent side did not end")
	}
	select {
	case err := <-s.ran:
		if err != nil {
			t.Fatalf("client side: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("client side did not end")
	}
}

func TestSessionEchoResizeAndExit(t *testing.T) {
	s := startSession(t, nil, nil)
	p := <-s.proc
	if got := p.sizes[0]; got != (SizeData{Cols: 120, Rows: 40}) {
		t.Errorf("command started with size %+v, want the client's 120x40", got)
	}
	s.inW.Write([]byte("echo hi\r"))
	s.sizes <- SizeData{Cols: 80, Rows: 24}
	waitFor(t, func() bool { return strings.Contains(s.out.String(), "echo hi\r\n") })
	waitFor(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.sizes) == 2 && p.sizes[1] == SizeData{Cols: 80, Rows: 24}
	})
	s.inW.Write([]byte("exit 3\r"))
	s.wait(t)
	if s.code != 3 || s.closed == nil || s.closed.ExitCode == nil || *s.closed.ExitCode != 3 {
		t.Fatalf("exit code %d, channel closed with %+v; want 3", s.code, s.closed)
	}
	if s.closed.SessionID != "ecs-execute-command-0123456789abcdef0" || s.closed.MessageType != ChannelClosed {
		t.Errorf("channel_closed %+v", s.closed)
	}
}

// Output survives a link that loses, duplicates and reorders frames in
// both directions (acks included): every byte arrives once, in order.
func TestSessionOverAnUnreliableLink(t *testing.T) {
	mangle := func(n int, frame []byte) ([][]byte, bool) {
		switch {
		case n%7 == 0:
			return nil, false // lost
		case n%11 == 0:
			return [][]byte{frame, frame}, false // duplicated
		case n%13 == 0:
			return nil, true // overtaken by the next
		}
		return [][]byte{frame}, false
	}
	s := startSession(t, mangle, mangle)
	p := <-s.proc
	s.inW.Write([]byte("flood 50000\r"))
	s.wait(t)
	want := "flood 50000\r\n" + string(p.flood)
	if got := s.out.String(); got != want {
		t.Fatalf("client got %d bytes, want %d (equal prefix %d)", len(got), len(want), commonPrefix(got, want))
	}
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// A client that vanishes ends the command, which was waiting for input.
func TestSessionClientGoneEndsCommand(t *testing.T) {
	s := startSession(t, nil, nil)
	p := <-s.proc
	s.agentCh.end(errors.New("transport gone"), nil)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the command still runs after its client went away")
	}
	if err := <-s.served; err == nil {
		t.Error("Serve reported success for a session whose client vanished")
	}
}

func TestClientRefusesUnknownSessionType(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	agentEnd, clientEnd, _, _ := pair()
	agentCh, clientCh := NewChannel(agentEnd, AgentSide), NewChannel(clientEnd, ClientSide)
	go agentCh.Run(ctx)
	go clientCh.Run(ctx)
	go ClientSession{ClientVersion: "1", Out: io.Discard}.Run(ctx, clientCh)
	agentCh.SendJSON(ctx, PayloadHandshakeRequest, HandshakeRequest{RequestedClientActions: []RequestedClientAction{
		{ActionType: ActionSessionType, ActionParameters: SessionTypeRequest{SessionType: "Port"}},
		{ActionType: "KMSEncryption", ActionParameters: map[string]string{}},
	}})
	m, err := agentCh.Recv(ctx)
	if err != nil || m.PayloadType != PayloadHandshakeResponse {
		t.Fatalf("answer %+v, %v", m, err)
	}
	var resp HandshakeResponse
	if err := json.Unmarshal(m.Payload, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.agreed(ActionSessionType) || len(resp.ProcessedClientActions) != 2 ||
		resp.ProcessedClientActions[0].ActionStatus != ActionFailed || resp.ProcessedClientActions[1].ActionStatus != ActionUnsupported || len(resp.Errors) != 2 {
		t.Fatalf("response %+v", resp)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkSessionOutput measures output through a session over an
// in-memory link: the protocol's own cost per byte.
func BenchmarkSessionOutput(b *testing.B) {
	const size = 8 << 20
	b.SetBytes(size)
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		agentEnd, clientEnd, _, _ := pair()
		agentCh, clientCh := NewChannel(agentEnd, AgentSide), NewChannel(clientEnd, ClientSide)
		go agentCh.Run(ctx)
		go clientCh.Run(ctx)
		agent := AgentSession{SessionID: "s", Command: "x", Start: func(context.Context, uint, uint) (Process, error) {
			p := newFakeProcess(0, 0)
			go func() {
				chunk := make([]byte, 64<<10)
				for sent := 0; sent < size; sent += len(chunk) {
					p.out.Write(chunk)
				}
				p.exit(0)
			}()
			return p, nil
		}}
		go agent.Serve(ctx, agentCh)
		var out countingWriter
		if _, err := (ClientSession{ClientVersion: "1", Out: &out}).Run(ctx, clientCh); err != nil || out.n != size {
			b.Fatalf("%d bytes, %v", out.n, err)
		}
		cancel()
	}
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
