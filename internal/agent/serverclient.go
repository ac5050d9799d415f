package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/berth/berth/internal/agentproto"
)

// serverRequestTimeout bounds one call of an agent endpoint: the largest
// is a log batch of at most 1 MiB.
const serverRequestTimeout = 30 * time.Second

// serverClient calls the server's agent endpoints besides the WebSocket
// (container logs, role credentials): JSON over plain HTTP with the
// agent's token.
type serverClient struct {
	base   string
	token  string
	client *http.Client
}

// newServerClient returns a client of the server at serverURL (http or
// https; ws and wss name the same server).
func newServerClient(serverURL, token string) (*serverClient, error) {
	u, err := agentproto.ServerBase(serverURL)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Every shipping container keeps a connection.
	transport.MaxIdleConnsPerHost = 64
	return &serverClient{base: u.String(), token: token, client: &http.Client{Transport: transport}}, nil
}

// serverRefusal is an answer of the server other than 2xx.
type serverRefusal struct {
	status int
	body   []byte
}

// post sends in as JSON and decodes a 2xx answer into out. Any other
// answer is returned as a *serverRefusal, for the caller to read in its
// endpoint's error shape.
func (c *serverClient) post(ctx context.Context, path string, in, out any) (*serverRefusal, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, serverRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return &serverRefusal{status: resp.StatusCode, body: b}, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, fmt.Errorf("server: %s answer: %w", path, err)
	}
	return nil, nil
}
