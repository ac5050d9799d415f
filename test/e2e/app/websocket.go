package main

import (
	"log"
	"net/http"

	"github.com/coder/websocket"
)

// echo accepts a WebSocket and answers each message with the hostname
// and the message, until the client closes it.
func echo(w http.ResponseWriter, r *http.Request, hostname string) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		log.Printf("websocket: %v", err)
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, append([]byte(hostname+": "), msg...)); err != nil {
			return
		}
	}
}
