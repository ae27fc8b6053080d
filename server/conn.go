package server

import (
	"context"

	"github.com/coder/websocket"
)

// wsConn adapts a coder/websocket connection to hub.Conn.
type wsConn struct {
	c *websocket.Conn
}

// Write writes one text frame.
func (w *wsConn) Write(ctx context.Context, p []byte) error {
	return w.c.Write(ctx, websocket.MessageText, p)
}

// Ping sends a ping and waits for its pong.
func (w *wsConn) Ping(ctx context.Context) error { return w.c.Ping(ctx) }

// Close sends a close frame with code and waits briefly for the peer's.
func (w *wsConn) Close(code int, reason string) error {
	return w.c.Close(websocket.StatusCode(code), reason)
}
