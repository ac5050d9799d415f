// Package wstransport carries a data channel over a WebSocket: each agent
// message is one binary WebSocket message.
package wstransport

import (
	"context"

	"github.com/coder/websocket"
)

// Conn is a data channel transport over ws.
type Conn struct{ ws *websocket.Conn }

// New returns the transport over ws.
func New(ws *websocket.Conn) *Conn { return &Conn{ws: ws} }

// ReadFrame returns the next binary message; text messages (keep-alives,
// a client's open request) are skipped.
func (c *Conn) ReadFrame(ctx context.Context) ([]byte, error) {
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if typ == websocket.MessageBinary {
			return b, nil
		}
	}
}

// WriteFrame writes one binary message.
func (c *Conn) WriteFrame(ctx context.Context, frame []byte) error {
	return c.ws.Write(ctx, websocket.MessageBinary, frame)
}
