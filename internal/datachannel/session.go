package datachannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// StreamPayloadSize is the most output one stream message carries, as the
// SSM agent sends it.
const StreamPayloadSize = 1024

// handshakeTimeout is how long the agent side waits for the client's
// handshake response, as the SSM agent does.
const handshakeTimeout = 15 * time.Second

// firstSizeWait is how long the agent side waits, after the handshake,
// for the client's terminal size before it starts an interactive command:
// the plugin sends it at once, and a command that asks its terminal's
// size as it starts then sees the right one.
const firstSizeWait = time.Second

// closeFlushTimeout bounds how long the agent side waits for the client
// to acknowledge the last output before it closes the channel.
const closeFlushTimeout = 30 * time.Second

// Process is the command a session runs.
type Process interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	CloseInput() error
	Resize(ctx context.Context, cols, rows uint) error
	Wait(ctx context.Context) (int, error)
	Close() error
}

// AgentSession is the agent side of one session: it asks the client to
// take part in an interactive (or non-interactive) commands session, runs
// the command once the client agreed, streams its output and the
// client's input and terminal size, and closes the channel with the
// command's exit status once its output ends.
type AgentSession struct {
	SessionID    string
	Command      string
	Interactive  bool
	AgentVersion string
	// Start starts the command with the client's terminal size (0 when
	// the client sent none).
	Start func(ctx context.Context, cols, rows uint) (Process, error)
	// Record, when set, gets a copy of the output.
	Record io.Writer
}

// Serve runs the session over ch (whose Run the caller runs) and returns
// the command's exit code. An error means the session ended otherwise:
// the client went away, or the command could not start (then the client
// was told why).
func (s AgentSession) Serve(ctx context.Context, ch *Channel) (int, error) {
	begun := time.Now()
	sessionType := SessionTypeInteractiveCommands
	if !s.Interactive {
		sessionType = SessionTypeNonInteractiveCommands
	}
	err := ch.SendJSON(ctx, PayloadHandshakeRequest, HandshakeRequest{
		AgentVersion: s.AgentVersion,
		RequestedClientActions: []RequestedClientAction{{
			ActionType: ActionSessionType,
			ActionParameters: SessionTypeRequest{
				SessionType: sessionType,
				Properties: map[string]any{
					"linux": map[string]any{"commands": s.Command, "runAsElevated": false},
				},
			},
		}},
	})
	if err != nil {
		return 0, err
	}
	var early []Message // the client's stream messages ahead of the command
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	for {
		m, err := ch.Recv(hctx)
		if err != nil {
			return 0, fmt.Errorf("handshake: %w", err)
		}
		if m.PayloadType != PayloadHandshakeResponse {
			early = append(early, m)
			continue
		}
		var resp HandshakeResponse
		if err := json.Unmarshal(m.Payload, &resp); err != nil {
			return 0, s.fail(ctx, ch, "the handshake response is not valid JSON")
		}
		if !resp.agreed(ActionSessionType) {
			return 0, s.fail(ctx, ch, fmt.Sprintf("the client refused the %s session: %v", sessionType, resp.Errors))
		}
		break
	}
	err = ch.SendJSON(ctx, PayloadHandshakeComplete, HandshakeComplete{HandshakeTimeToComplete: time.Since(begun)})
	if err != nil {
		return 0, err
	}

	var cols, rows uint
	if s.Interactive {
		size, rest := firstSize(ctx, ch, early)
		early = rest
		cols, rows = uint(size.Cols), uint(size.Rows)
	}
	proc, err := s.Start(ctx, cols, rows)
	if err != nil {
		return 0, s.fail(ctx, ch, err.Error())
	}
	defer proc.Close()

	finished := make(chan struct{})
	defer close(finished)
	go func() {
		// A client gone ends the command, which may be waiting for input
		// and never notice.
		select {
		case <-ch.Done():
			proc.Close()
		case <-finished:
		}
	}()
	go s.input(ctx, ch, proc, early)
	outputErr := s.output(ctx, ch, proc)
	if outputErr != nil {
		return 0, outputErr
	}
	select {
	case <-ch.Done():
		return 0, fmt.Errorf("the client went away: %w", ch.Err())
	default:
	}
	code, err := proc.Wait(ctx)
	if err != nil {
		return 0, err
	}
	fctx, cancelFlush := context.WithTimeout(ctx, closeFlushTimeout)
	defer cancelFlush()
	if err := ch.Flush(fctx); err != nil {
		return code, fmt.Errorf("flush the output: %w", err)
	}
	return code, ch.Close(ctx, ChannelClosedContent{SessionID: s.SessionID, ExitCode: &code})
}

// firstSize waits briefly for the client's terminal size among its first
// messages; it returns the size (zero if none came) and the messages
// that are not it.
func firstSize(ctx context.Context, ch *Channel, early []Message) (SizeData, []Message) {
	var size SizeData
	for i, m := range early {
		if m.PayloadType == PayloadSize && json.Unmarshal(m.Payload, &size) == nil {
			return size, append(early[:i:i], early[i+1:]...)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, firstSizeWait)
	defer cancel()
	for {
		m, err := ch.Recv(wctx)
		if err != nil {
			return size, early
		}
		if m.PayloadType == PayloadSize && json.Unmarshal(m.Payload, &size) == nil {
			return size, early
		}
		early = append(early, m)
	}
}

// output streams the command's output to the client until it ends.
func (s AgentSession) output(ctx context.Context, ch *Channel, proc Process) error {
	buf := make([]byte, StreamPayloadSize)
	for {
		n, err := proc.Read(buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			if s.Record != nil {
				s.Record.Write(chunk)
			}
			if err := ch.Send(ctx, PayloadOutput, chunk); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the command's output: %w", err)
		}
	}
}

// input applies the client's stream messages: keystrokes to the command,
// terminal sizes to its terminal.
func (s AgentSession) input(ctx context.Context, ch *Channel, proc Process, early []Message) error {
	apply := func(m Message) error {
		switch m.PayloadType {
		case PayloadOutput:
			_, err := proc.Write(m.Payload)
			return err
		case PayloadSize:
			var size SizeData
			if json.Unmarshal(m.Payload, &size) == nil && s.Interactive {
				proc.Resize(ctx, uint(size.Cols), uint(size.Rows))
			}
		}
		return nil
	}
	for _, m := range early {
		if err := apply(m); err != nil {
			return err
		}
	}
	for {
		m, err := ch.Recv(ctx)
		if err != nil {
			return err
		}
		if err := apply(m); err != nil {
			return err
		}
	}
}

// fail tells the client why the session cannot go on and closes the
// channel.
func (s AgentSession) fail(ctx context.Context, ch *Channel, reason string) error {
	fctx, cancel := context.WithTimeout(ctx, closeFlushTimeout)
	defer cancel()
	ch.Flush(fctx)
	ch.Close(ctx, ChannelClosedContent{SessionID: s.SessionID, Output: reason})
	return errors.New(reason)
}

func (r HandshakeResponse) agreed(actionType string) bool {
	for _, a := range r.ProcessedClientActions {
		if a.ActionType == actionType {
			return a.ActionStatus == ActionSuccess
		}
	}
	return false
}

// ClientSession is the client side of one session, as the
// session-manager-plugin plays it: it agrees to the session the agent
// asks for, then sends the user's keystrokes and terminal size and
// writes the command's output.
type ClientSession struct {
	ClientVersion string
	// In is the user's input, sent as it comes once the handshake is
	// complete. At its end the client sends the terminal's end-of-file
	// character (Ctrl-D): the protocol has no end of input.
	In  io.Reader
	Out io.Writer
	// Sizes delivers the terminal's size, first and whenever it changes
	// (nil: none sent).
	Sizes <-chan SizeData
	// Ready, when set, is called once the handshake is complete, before
	// any output is written.
	Ready func()
}

// Run runs the session over ch (whose Run the caller runs) until the
// agent closes the channel, and returns its channel_closed content.
func (s ClientSession) Run(ctx context.Context, ch *Channel) (*ChannelClosedContent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for {
		m, err := ch.Recv(ctx)
		if err != nil {
			if closed := ch.ClosedBy(); closed != nil {
				return closed, nil
			}
			return nil, err
		}
		switch m.PayloadType {
		case PayloadHandshakeRequest:
			if err := s.answer(ctx, ch, m); err != nil {
				return nil, err
			}
		case PayloadHandshakeComplete:
			var done HandshakeComplete
			json.Unmarshal(m.Payload, &done)
			if s.Ready != nil {
				s.Ready()
			}
			if done.CustomerMessage != "" {
				fmt.Fprintln(s.Out, done.CustomerMessage)
			}
			go s.sendInput(ctx, ch)
			go s.sendSizes(ctx, ch)
		case PayloadOutput, PayloadStdErr:
			if _, err := s.Out.Write(m.Payload); err != nil {
				return nil, err
			}
		}
	}
}

func (s ClientSession) answer(ctx context.Context, ch *Channel, m Message) error {
	var req struct {
		RequestedClientActions []struct {
			ActionType       string          `json:"ActionType"`
			ActionParameters json.RawMessage `json:"ActionParameters"`
		} `json:"RequestedClientActions"`
	}
	if err := json.Unmarshal(m.Payload, &req); err != nil {
		return fmt.Errorf("handshake request: %w", err)
	}
	resp := HandshakeResponse{ClientVersion: s.ClientVersion, ProcessedClientActions: []ProcessedClientAction{}}
	for _, a := range req.RequestedClientActions {
		done := ProcessedClientAction{ActionType: a.ActionType, ActionStatus: ActionSuccess}
		var params SessionTypeRequest
		switch {
		case a.ActionType != ActionSessionType:
			done.ActionStatus, done.Error = ActionUnsupported, "Unsupported action "+a.ActionType
		case json.Unmarshal(a.ActionParameters, &params) != nil ||
			(params.SessionType != SessionTypeInteractiveCommands && params.SessionType != SessionTypeNonInteractiveCommands && params.SessionType != SessionTypeShell):
			done.ActionStatus, done.Error = ActionFailed, fmt.Sprintf("Unknown session type %s", params.SessionType)
		}
		if done.Error != "" {
			resp.Errors = append(resp.Errors, done.Error)
		}
		resp.ProcessedClientActions = append(resp.ProcessedClientActions, done)
	}
	return ch.SendJSON(ctx, PayloadHandshakeResponse, resp)
}

func (s ClientSession) sendInput(ctx context.Context, ch *Channel) {
	if s.In == nil {
		return
	}
	buf := make([]byte, StreamPayloadSize)
	for {
		n, err := s.In.Read(buf)
		if n > 0 {
			if ch.Send(ctx, PayloadOutput, append([]byte(nil), buf[:n]...)) != nil {
				return
			}
		}
		if err != nil {
			ch.Send(ctx, PayloadOutput, []byte{0x04})
			return
		}
	}
}

func (s ClientSession) sendSizes(ctx context.Context, ch *Channel) {
	for {
		select {
		case size, ok := <-s.Sizes:
			if !ok {
				return
			}
			if ch.SendJSON(ctx, PayloadSize, size) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
