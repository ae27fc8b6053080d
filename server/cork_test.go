package server

import (
	"net"
	"sync"
	"testing"
)

// recordConn is a net.Conn that records each Write.
type recordConn struct {
	net.Conn
	mu     sync.Mutex
	writes []string
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

// While corked, writes are gathered and Uncork sends them in one write;
// otherwise each goes straight through; an Uncork with nothing held
// sends nothing.
func TestCorkConn(t *testing.T) {
	rc := &recordConn{}
	c := &corkConn{Conn: rc}
	c.Write([]byte("a"))
	c.Cork()
	c.Write([]byte("b"))
	c.Write([]byte("c"))
	if len(rc.writes) != 1 {
		t.Fatalf("writes while corked reached the conn: %q", rc.writes)
	}
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("d"))
	c.Cork()
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	if err := c.Uncork(); err != nil { // not corked: nothing to do
		t.Fatal(err)
	}
	want := []string{"a", "bc", "d"}
	if len(rc.writes) != len(want) {
		t.Fatalf("writes %q, want %q", rc.writes, want)
	}
	for i := range want {
		if rc.writes[i] != want[i] {
			t.Fatalf("writes %q, want %q", rc.writes, want)
		}
	}
}
