// Package sessionplugin is berth's Session Manager client: what the
// session-manager-plugin does for `aws ecs execute-command`, and what
// `berth exec` does itself. It opens a session's data channel with the
// session's token, answers the agent's handshake, and connects the
// user's terminal to the command: keystrokes in (the terminal in raw
// mode, so Ctrl-C and line editing reach the command), output out, and
// the terminal's size whenever it changes.
package sessionplugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/berth/berth/internal/datachannel"
	"github.com/berth/berth/internal/datachannel/wstransport"
)

// Version is what `session-manager-plugin --version` prints: the version
// of the official plugin whose behaviour this one follows. The AWS CLI
// reads it to decide how to pass the session (in an environment variable
// from 1.2.497.0 on), so it must be a plugin version.
const Version = "1.3.0.0"

// StartSession is the only operation the AWS CLI asks of the plugin.
const StartSession = "StartSession"

// responseEnv is the environment variable the AWS CLI passes the session
// in, naming it in place of the session's JSON.
const responseEnv = "AWS_SSM_START_SESSION_RESPONSE"

// Session is what ECS's ExecuteCommand (and SSM's StartSession) returns:
// the session and where and how to open its data channel.
type Session struct {
	SessionID  string `json:"sessionId"`
	StreamURL  string `json:"streamUrl"`
	TokenValue string `json:"tokenValue"`
}

// Terminal is the user's side of a session.
type Terminal struct {
	In  *os.File
	Out io.Writer
	// Err gets the plugin's own messages when set, else Out.
	Err io.Writer
}

// Main is `session-manager-plugin` with the arguments the AWS CLI passes
// (args[0] is the program): the session's JSON (or the name of the
// environment variable holding it), the region, the operation, the
// profile, the target's parameters and the endpoint. With no arguments it
// says it is installed; with --version it prints its version. It returns
// the exit status, 0 whatever the command's: the CLI treats any other as
// its own failure.
func Main(ctx context.Context, args []string, getenv func(string) string, t Terminal) int {
	switch {
	case len(args) <= 1:
		fmt.Fprint(t.Out, "\nThe Session Manager plugin was installed successfully. Use the AWS CLI to start a session.\n\n")
		return 0
	case len(args) == 2 && args[1] == "--version":
		fmt.Fprintln(t.Out, Version)
		return 0
	case len(args) < 4:
		fmt.Fprintf(t.Out, "\nUnknown operation %s. \nUse session-manager-plugin --version to check the version.\n\n", args[1])
		return 0
	}
	response := args[1]
	if strings.HasPrefix(response, responseEnv) {
		response = getenv(response)
		os.Unsetenv(args[1])
	}
	if args[3] != StartSession {
		fmt.Fprint(t.Out, "Invalid Operation")
		return 0
	}
	var s Session
	if err := json.Unmarshal([]byte(response), &s); err != nil || s.SessionID == "" || s.StreamURL == "" {
		fmt.Fprintf(t.Out, "Cannot perform start session: %v\n", orInvalid(err))
		return 0
	}
	if _, err := Run(ctx, s, t); err != nil {
		fmt.Fprintf(t.Out, "Cannot perform start session: %v\n", err)
	}
	return 0
}

func orInvalid(err error) error {
	if err != nil {
		return err
	}
	return errors.New("the session names no session id or stream URL")
}

// Run opens the session and runs it on the terminal until the command
// ends, and returns its exit status when the agent told it (-1 if not).
func Run(ctx context.Context, s Session, t Terminal) (int, error) {
	msgs := t.Err
	if msgs == nil {
		msgs = t.Out
	}
	fmt.Fprintf(msgs, "\nStarting session with SessionId: %s\n", s.SessionID)
	ws, _, err := websocket.Dial(ctx, s.StreamURL, &websocket.DialOptions{HTTPHeader: http.Header{}})
	if err != nil {
		return -1, fmt.Errorf("open the data channel: %w", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(64 << 20)
	open, _ := json.Marshal(datachannel.OpenDataChannel{
		MessageSchemaVersion: "1.0", RequestID: uuid.NewString(), TokenValue: s.TokenValue,
		ClientID: uuid.NewString(), ClientVersion: Version,
	})
	if err := ws.Write(ctx, websocket.MessageText, open); err != nil {
		return -1, fmt.Errorf("open the data channel: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := datachannel.NewChannel(wstransport.New(ws), datachannel.ClientSide)
	go ch.Run(ctx)

	sizes := make(chan datachannel.SizeData, 1)
	client := datachannel.ClientSession{ClientVersion: Version, Out: t.Out, Sizes: sizes}
	// The size is the output's terminal's, as the official plugin takes
	// it; without one, its fallback of 300x100, sent at once so that the
	// command need not wait for a size that would never come.
	if out, ok := t.Out.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		go watchSize(ctx, int(out.Fd()), sizes)
	} else {
		sizes <- datachannel.SizeData{Cols: 300, Rows: 100}
	}
	restore := func() {}
	defer func() { restore() }()
	if t.In != nil {
		client.In = t.In
		if fd := int(t.In.Fd()); term.IsTerminal(fd) {
			client.Ready = func() {
				// Raw: every key (Ctrl-C, arrows, Tab) goes to the
				// command, whose terminal echoes and edits.
				if state, err := term.MakeRaw(fd); err == nil {
					restore = func() { term.Restore(fd, state) }
				}
			}
		}
	}
	closed, err := client.Run(ctx, ch)
	restore()
	restore = func() {}
	if err != nil {
		return -1, err
	}
	if closed.Output == "" {
		fmt.Fprintf(msgs, "\n\nExiting session with sessionId: %s.\n\n", s.SessionID)
	} else {
		fmt.Fprintf(msgs, "\n\nSessionId: %s : %s\n\n", s.SessionID, closed.Output)
	}
	ws.Close(websocket.StatusNormalClosure, "")
	if closed.ExitCode == nil {
		return -1, nil
	}
	return *closed.ExitCode, nil
}

// watchSize sends the terminal's size, at once and on every change.
func watchSize(ctx context.Context, fd int, sizes chan<- datachannel.SizeData) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	// SIGWINCH may be missed (a terminal resized while the signal was
	// not yet watched): look again now and then.
	poll := time.NewTicker(500 * time.Millisecond)
	defer poll.Stop()
	var last datachannel.SizeData
	for {
		if cols, rows, err := term.GetSize(fd); err == nil {
			size := datachannel.SizeData{Cols: uint32(cols), Rows: uint32(rows)}
			if size != last {
				select {
				case sizes <- size:
					last = size
				case <-ctx.Done():
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-winch:
		case <-poll.C:
		}
	}
}
