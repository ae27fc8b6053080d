package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A few Redis commands over RESP, enough to delete a run's keys and read
// command counts: chatbench needs no Redis client library.
type redisConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRedis(raw string) (*redisConn, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "") {
		return nil, fmt.Errorf("redis URL %q: want redis://[:password@]host:port/db", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "6379")
	}
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	rc := &redisConn{c: c, r: bufio.NewReader(c)}
	if pw, ok := u.User.Password(); ok {
		args := []string{"AUTH", pw}
		if name := u.User.Username(); name != "" {
			args = []string{"AUTH", name, pw}
		}
		if _, err := rc.do(args...); err != nil {
			c.Close()
			return nil, err
		}
	}
	if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
		if _, err := rc.do("SELECT", db); err != nil {
			c.Close()
			return nil, err
		}
	}
	return rc, nil
}

func (rc *redisConn) Close() error { return rc.c.Close() }

func (rc *redisConn) do(args ...string) (any, error) {
	_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	if _, err := rc.c.Write(b); err != nil {
		return nil, err
	}
	return rc.read()
}

func (rc *redisConn) read() (any, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New("redis: " + line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := readFull(rc.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = rc.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// deleteKeys deletes every key starting with prefix and returns how many.
func (rc *redisConn) deleteKeys(prefix string) (int, error) {
	cursor, total := "0", 0
	for {
		v, err := rc.do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", "1000")
		if err != nil {
			return total, err
		}
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 {
			return total, errors.New("redis: bad SCAN reply")
		}
		cursor, _ = arr[0].(string)
		keys, _ := arr[1].([]any)
		if len(keys) > 0 {
			args := []string{"UNLINK"}
			for _, k := range keys {
				s, _ := k.(string)
				args = append(args, s)
			}
			n, err := rc.do(args...)
			if err != nil {
				return total, err
			}
			c, _ := n.(int64)
			total += int(c)
		}
		if cursor == "0" {
			return total, nil
		}
	}
}

// commandCalls returns the calls of every command (INFO commandstats),
// and the total_commands_processed of INFO stats under "total".
func (rc *redisConn) commandCalls() (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, section := range []string{"commandstats", "stats"} {
		v, err := rc.do("INFO", section)
		if err != nil {
			return nil, err
		}
		s, _ := v.(string)
		for _, line := range strings.Split(s, "\n") {
			line = strings.TrimSpace(line)
			if name, rest, ok := strings.Cut(line, ":"); ok {
				if cmd, ok := strings.CutPrefix(name, "cmdstat_"); ok {
					calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
					out[cmd], _ = strconv.ParseUint(calls, 10, 64)
				} else if name == "total_commands_processed" {
					out["total"], _ = strconv.ParseUint(rest, 10, 64)
				}
			}
		}
	}
	return out, nil
}
