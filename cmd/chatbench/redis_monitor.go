package main

import (
	"strings"
	"time"
)

// monitorTrips watches Redis with MONITOR for d and counts the round trips
// clients made: every command a client sent, with a MULTI…EXEC block
// counted once and commands run inside Lua scripts (client "lua") not
// counted. Commands pipelined outside MULTI are counted one by one, so
// this is an upper bound. It returns the trips and the commands seen by
// name.
func monitorTrips(url string, d time.Duration) (trips uint64, byCmd map[string]uint64, err error) {
	rc, err := dialRedis(url)
	if err != nil {
		return 0, nil, err
	}
	defer rc.Close()
	if _, err := rc.do("MONITOR"); err != nil {
		return 0, nil, err
	}
	byCmd = map[string]uint64{}
	inMulti := map[string]bool{}
	deadline := time.Now().Add(d)
	_ = rc.c.SetReadDeadline(deadline)
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			break // the deadline
		}
		client, cmd, ok := parseMonitorLine(line)
		if !ok || client == "lua" {
			continue
		}
		byCmd[cmd]++
		switch {
		case cmd == "multi":
			inMulti[client] = true
		case cmd == "exec" || cmd == "discard":
			delete(inMulti, client)
			trips++
		case !inMulti[client]:
			trips++
		}
	}
	return trips, byCmd, nil
}

// parseMonitorLine reads `+1700000000.123456 [0 127.0.0.1:50000] "GET" "k"`
// into the client ("127.0.0.1:50000", or "lua") and the lower-case
// command.
func parseMonitorLine(line string) (client, cmd string, ok bool) {
	_, rest, ok := strings.Cut(line, "[")
	if !ok {
		return "", "", false
	}
	inside, rest, ok := strings.Cut(rest, "]")
	if !ok {
		return "", "", false
	}
	_, client, _ = strings.Cut(inside, " ")
	_, rest, ok = strings.Cut(rest, `"`)
	if !ok {
		return "", "", false
	}
	cmd, _, ok = strings.Cut(rest, `"`)
	return client, strings.ToLower(cmd), ok
}
