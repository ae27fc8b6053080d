package hub

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// listenLog records what reaches the broker.
type listenLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *listenLog) listen(ch string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.calls = append(l.calls, "+"+ch)
	} else {
		l.calls = append(l.calls, "-"+ch)
	}
}

func (l *listenLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// waitFor polls until the log is want (the sweep runs on a timer).
func (l *listenLog) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(l.got(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("broker saw %v, want %v", l.got(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A channel left and taken again within the linger never leaves the
// broker; one left for good does, after the linger; Close ends all.
func TestLingererKeepsAChannelForAWhile(t *testing.T) {
	log := &listenLog{}
	l := newLingerer(log.listen, 40*time.Millisecond)
	l.Listen("a", true)
	l.Listen("a", false)
	l.Listen("a", true) // back before the linger ends: nothing to do
	l.Listen("b", true)
	l.Listen("b", false)
	if got, want := log.got(), []string{"+a", "+b"}; !slices.Equal(got, want) {
		t.Fatalf("broker saw %v, want %v", got, want)
	}
	if n := l.lingering(); n != 1 {
		t.Fatalf("%d channels lingering, want 1 (b)", n)
	}
	log.waitFor(t, "+a", "+b", "-b")
	l.Listen("b", true) // gone from the broker: listened to anew
	l.Listen("c", true)
	l.Listen("c", false)
	l.close()
	log.waitFor(t, "+a", "+b", "-b", "+b", "+c", "-c")
	l.Listen("b", false) // closed: straight through
	log.waitFor(t, "+a", "+b", "-b", "+b", "+c", "-c", "-b")
}

func TestLingererOff(t *testing.T) {
	log := &listenLog{}
	l := newLingerer(log.listen, 0)
	l.Listen("a", true)
	l.Listen("a", false)
	l.Listen("a", true)
	if got, want := log.got(), []string{"+a", "-a", "+a"}; !slices.Equal(got, want) {
		t.Fatalf("broker saw %v, want %v", got, want)
	}
}

// recordingBroker is a Broker that only records Listen.
type recordingBroker struct{ log *listenLog }

func (b recordingBroker) Publish(context.Context, []Outgoing) error { return nil }
func (b recordingBroker) Listen(ch string, on bool)                 { b.log.listen(ch, on) }
func (b recordingBroker) SetHandler(func(*Envelope))                {}

// Through the hub: a user who quits a group and joins it again, and whose
// session reconnects, costs the broker nothing after the first listen.
func TestHubListenLingers(t *testing.T) {
	log := &listenLog{}
	h := newTestHub(t, Options{Broker: recordingBroker{log}, NodeID: "n1", ListenLinger: time.Hour})
	s, _ := session(h, "u")
	h.Subscribe(s, "g", false)
	h.Unsubscribe(s, "g")
	h.Subscribe(s, "g", false)
	h.Unregister(s)
	<-s.Done()
	s2, _ := session(h, "u")
	h.Subscribe(s2, "g", false)
	want := []string{"+" + UserChannel("u"), "+" + GroupChannel("g")}
	if got := log.got(); !slices.Equal(got, want) {
		t.Fatalf("broker saw %v, want %v", got, want)
	}
}
