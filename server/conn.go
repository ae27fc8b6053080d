package server

import (
	"context"

	"github.com/coder/websocket"
)

// wsConn adapts a coder/websocket connection to hub.Conn.
type wsConn struct {
	c    *websocket.Conn
	cork *corkConn // under c
}

// Cork implements hub.Corker.
func (w *wsConn) Cork() { w.cork.Cork() }

// Uncork implements hub.Corker.
func (w *wsConn) Uncork() error { return w.cork.Uncork() }

// Write writes one text frame. The hub bounds it with Abort, not with a
// context: coder/websocket arms a context.AfterFunc per write for a
// context that can end.
func (w *wsConn) Write(p []byte) error {
	return w.c.Write(context.Background(), websocket.MessageText, p)
}

// Abort closes the connection at once; a Write in flight fails.
func (w *wsConn) Abort() { _ = w.c.CloseNow() }

// Ping sends a ping and waits for its pong.
func (w *wsConn) Ping(ctx context.Context) error { return w.c.Ping(ctx) }

// Close sends a close frame with code and waits briefly for the peer's.
func (w *wsConn) Close(code int, reason string) error {
	return w.c.Close(websocket.StatusCode(code), reason)
}
