package hub

import (
	"sync"
	"testing"
	"time"
)

// corkConn is a fakeConn that is a Corker: it records each Uncork with
// the frames written since the Cork.
type corkConn struct {
	fakeConn
	cmu    sync.Mutex
	corked bool
	held   int   // frames written while corked
	sends  []int // frames per Uncork
}

func (c *corkConn) Write(p []byte) error {
	c.cmu.Lock()
	if c.corked {
		c.held++
	}
	c.cmu.Unlock()
	return c.fakeConn.Write(p)
}

func (c *corkConn) Cork() {
	c.cmu.Lock()
	c.corked, c.held = true, 0
	c.cmu.Unlock()
}

func (c *corkConn) Uncork() error {
	c.cmu.Lock()
	c.corked = false
	c.sends = append(c.sends, c.held)
	c.cmu.Unlock()
	return nil
}

func (c *corkConn) uncorks() []int {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return append([]int(nil), c.sends...)
}

// Frames queued while a session is held are written only after Release,
// all in one corked batch; frames before the Hold go out at once.
func TestHoldGathersUntilRelease(t *testing.T) {
	h := newTestHub(t, Options{})
	c := &corkConn{}
	s := h.Register(c)
	s.Send([]byte(`{"n":0}`))
	waitFor(t, "the frame before the hold", func() bool { return len(c.written()) == 1 })
	s.Hold()
	s.Send([]byte(`{"n":1}`))
	h.Subscribe(s, "g", false)
	h.Publish(push("a", "g", ""))
	s.Send([]byte(`{"n":2}`))
	time.Sleep(20 * time.Millisecond) // the writer would have written by now
	if n := len(c.written()); n != 1 {
		t.Fatalf("%d frames written while held, want only the one before", n)
	}
	s.Release()
	waitFor(t, "the held frames", func() bool { return len(c.written()) == 4 })
	if got := c.uncorks(); len(got) != 1 || got[0] != 3 {
		t.Errorf("corked sends %v, want one of 3 frames", got)
	}
	in, _ := msg("a")
	want := join([]string{`{"n":1}`, framePrefix + string(in) + frameSuffix, `{"n":2}`})
	if got := join(c.written()[1:]); got != want {
		t.Errorf("written after the release: %s, want %s", got, want)
	}
}

// A held session still closes: Close drains and closes without waiting
// for Release, and so does CloseNow.
func TestHoldDoesNotBlockClose(t *testing.T) {
	for _, now := range []bool{false, true} {
		h := newTestHub(t, Options{})
		c := &corkConn{}
		s := h.Register(c)
		s.Hold()
		s.Send([]byte(`{"n":1}`))
		if now {
			s.CloseNow(4001, "bye")
		} else {
			s.Close(4001, "bye")
		}
		waitDoneT(t, s)
		if code, _ := c.closeCode(); code != 4001 {
			t.Errorf("closeNow %v: closed with %d, want 4001", now, code)
		}
		if !now && len(c.written()) != 1 {
			t.Errorf("Close while held: %d frames written, want the queued one", len(c.written()))
		}
	}
}
