package hub

import "context"

// Conn is the transport of one session, implemented by the server over a
// WebSocket.
type Conn interface {
	// Write writes one text frame. It is called only from the session's
	// writer goroutine, never concurrently with itself or with Close, and
	// must not retain p after it returns.
	Write(p []byte) error
	// Abort closes the transport at once, so that a Write in flight
	// returns (a write past the write timeout, or a session closed at
	// once). It may run concurrently with Write, Ping and Close.
	Abort()
	// Ping sends a WebSocket ping and waits for the pong (or ctx). It is
	// called from a timer goroutine and may run concurrently with Write.
	Ping(ctx context.Context) error
	// Close closes the connection with a WebSocket close code and reason.
	// It is called at most once, from the writer goroutine.
	Close(code int, reason string) error
}

// Corker is a Conn that can hold its writes back: after Cork, Writes are
// gathered, and Uncork sends them to the transport at once. The writer
// corks every batch of two or more items. Both are called from the
// writer goroutine only; Uncork is bounded by the write timeout like
// Write.
type Corker interface {
	Cork()
	Uncork() error
}
