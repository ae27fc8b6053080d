package hub

import "context"

// Conn is the transport of one session, implemented by the server over a
// WebSocket.
type Conn interface {
	// Write writes one text frame. It is called only from the session's
	// writer goroutine, never concurrently with itself or with Close, and
	// must not retain p after it returns. ctx carries the write timeout and
	// is cancelled when the session is closed at once.
	Write(ctx context.Context, p []byte) error
	// Ping sends a WebSocket ping and waits for the pong (or ctx). It is
	// called from a timer goroutine and may run concurrently with Write.
	Ping(ctx context.Context) error
	// Close closes the connection with a WebSocket close code and reason.
	// It is called at most once, from the writer goroutine.
	Close(code int, reason string) error
}
