package hub

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fakeRedis accepts one connection, checks the commands it expects and
// then writes script.
func fakeRedis(t *testing.T, expect []string, replies, script string) *redis.Options {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for _, want := range expect {
			got, err := readCommand(r)
			if err != nil || got != want {
				t.Errorf("command %q (%v), want %q", got, err, want)
				return
			}
		}
		_, _ = c.Write([]byte(replies + script))
		_, _ = r.ReadByte() // until the client closes
	}()
	return &redis.Options{Network: "tcp", Addr: ln.Addr().String()}
}

// readCommand reads a RESP array of bulk strings as its words joined by
// spaces.
func readCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return "", err
	}
	var words []string
	for range n {
		if _, err := r.ReadString('\n'); err != nil {
			return "", err
		}
		w, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		words = append(words, strings.TrimSuffix(w, "\r\n"))
	}
	return strings.Join(words, " "), nil
}

func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// TestSubConnReads: confirmations, messages (in the read buffer and
// larger than it, one after the other), a nil channel, a pong, and the
// credentials and name sent first.
func TestSubConnReads(t *testing.T) {
	large := strings.Repeat("x", 3*subReadBuffer)
	script := "*3\r\n" + bulk("subscribe") + bulk("ch:a") + ":1\r\n" +
		"*3\r\n" + bulk("message") + bulk("ch:a") + bulk("first") +
		"*3\r\n" + bulk("message") + bulk("ch:b") + bulk(large) +
		"*3\r\n" + bulk("message") + bulk("ch:a") + bulk("") +
		"*2\r\n" + bulk("pong") + bulk("") +
		"*3\r\n" + bulk("unsubscribe") + "$-1\r\n:0\r\n" +
		"*3\r\n" + bulk("message") + bulk("ch:c") + bulk("last")
	opt := fakeRedis(t, []string{"AUTH user secret", "CLIENT SETNAME node-1"}, "+OK\r\n+OK\r\n", script)
	opt.Username, opt.Password, opt.ClientName = "user", "secret", "node-1"
	sc, err := dialSub(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	want := []struct {
		ev      subEvent
		ch, msg string
	}{
		{subSubscribe, "ch:a", ""}, {subMessage, "ch:a", "first"}, {subMessage, "ch:b", large},
		{subMessage, "ch:a", ""}, {subOther, "", ""}, {subUnsubscribe, "", ""}, {subMessage, "ch:c", "last"},
	}
	for i, w := range want {
		ev, ch, payload, err := sc.next()
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if ev != w.ev || string(ch) != w.ch || string(payload) != w.msg {
			t.Fatalf("push %d: %v %q %d bytes, want %v %q %d bytes", i, ev, ch, len(payload), w.ev, w.ch, len(w.msg))
		}
		sc.done()
	}
}

// TestSubConnRefuses: an error reply to the setup fails the dial; a
// malformed or error push fails next.
func TestSubConnRefuses(t *testing.T) {
	opt := fakeRedis(t, []string{"AUTH secret"}, "-WRONGPASS invalid password\r\n", "")
	opt.Password = "secret"
	if _, err := dialSub(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("dial with a refused AUTH: %v", err)
	}
	for _, script := range []string{
		"+OK\r\n",
		"*3\r\n" + bulk("message") + bulk("ch") + "$3\r\nabcde\r\n",
		"*3\r\n" + bulk("message") + bulk("ch") + "$x\r\n",
		"*x\r\n",
		"*3\r\n" + bulk("message") + "\n",
		"-ERR something\r\n",
	} {
		sc, err := dialSub(context.Background(), fakeRedis(t, nil, "", script))
		if err != nil {
			t.Fatal(err)
		}
		_ = sc.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ne net.Error
		if ev, _, _, err := sc.next(); err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%q: %v, %v; want an error", script, ev, err)
		}
		sc.Close()
	}
}

// TestRedisBrokerLargeEnvelope: an envelope larger than the
// subscription's read buffer arrives whole, and the ones around it too.
func TestRedisBrokerLargeEnvelope(t *testing.T) {
	e := standaloneEnv(t)
	a := startBroker(t, e, "a")
	b := newTestBroker(t, e, "b")
	a.listen(t, GroupChannel("g"))
	got := make(chan *Envelope, 8)
	a.SetHandler(func(env *Envelope) { got <- env })
	big := bytes.Repeat([]byte("y"), 2*subReadBuffer)
	ctx := context.Background()
	for i, size := range []int{10, len(big), 10} {
		env := &Envelope{ID: "e" + strconv.Itoa(i), Kind: KindPush, GroupID: "g", ToGroup: true, In: big[:size]}
		if err := b.Publish(ctx, []Outgoing{{Channels: []string{GroupChannel("g")}, Env: env}}); err != nil {
			t.Fatal(err)
		}
		select {
		case env := <-got:
			if env.ID != "e"+strconv.Itoa(i) || !bytes.Equal(env.In, big[:size]) {
				t.Fatalf("envelope %d: %q with %d bytes", i, env.ID, len(env.In))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("envelope %d of %d bytes not delivered", i, size)
		}
	}
}

// TestRedisBrokerRefusesOtherClients: classic pub/sub on a client it
// cannot dial a subscription from (a Ring) fails Run at once instead of
// retrying forever.
func TestRedisBrokerRefusesOtherClients(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	b := NewRedisBroker(ring, RedisBrokerOptions{Prefix: "p", NodeID: "n"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Run(ctx); err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "*redis.Ring") {
		t.Errorf("Run on a Ring: %v (ctx %v)", err, ctx.Err())
	}
}
