package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"chatd/server/auth"
)

func TestRunToken(t *testing.T) {
	prod := &Config{TokenSecret: goodSecret}
	dev := &Config{}
	tests := []struct {
		name     string
		args     []string
		cfg      *Config
		wantCode int
		wantTTL  time.Duration
		wantErr  string // substring of stderr
	}{
		{"default ttl", []string{"-user", "alice"}, prod, 0, 24 * time.Hour, ""},
		{"custom ttl", []string{"-user", "bob", "-ttl", "90m"}, prod, 0, 90 * time.Minute, ""},
		{"dev mode", []string{"-user=alice"}, dev, 0, 24 * time.Hour, "development secret"},
		{"missing user", nil, prod, 2, 0, "-user is required"},
		{"empty user", []string{"-user", ""}, prod, 2, 0, "-user is required"},
		{"invalid user", []string{"-user", "al ice"}, prod, 2, 0, "not a userID"},
		{"too long user", []string{"-user", strings.Repeat("u", 33)}, prod, 2, 0, "not a userID"},
		{"zero ttl", []string{"-user", "alice", "-ttl", "0s"}, prod, 2, 0, "-ttl must be positive"},
		{"bad ttl", []string{"-user", "alice", "-ttl", "soon"}, prod, 2, 0, "usage:"},
		{"unknown flag", []string{"-user", "alice", "-x"}, prod, 2, 0, "usage:"},
		{"extra argument", []string{"-user", "alice", "more"}, prod, 2, 0, "unexpected argument"},
		{"help", []string{"-h"}, prod, 0, 0, "usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			before := time.Now().Truncate(time.Second)
			code := runToken(tt.args, tt.cfg, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
			if tt.wantTTL == 0 {
				if stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", stdout.String())
				}
				return
			}
			checkPrintedToken(t, stdout.String(), tt.cfg, tt.args, before, tt.wantTTL)
		})
	}
}

// checkPrintedToken verifies out is one token and a newline for the -user
// in args, expiring ttl after it was made.
func checkPrintedToken(t *testing.T, out string, cfg *Config, args []string, before time.Time, ttl time.Duration) {
	t.Helper()
	tok, ok := strings.CutSuffix(out, "\n")
	if !ok || strings.ContainsAny(tok, "\n ") {
		t.Fatalf("stdout %q, want one token and a newline", out)
	}
	c, err := auth.Verify(cfg.Secret(), tok, time.Now())
	if err != nil {
		t.Fatalf("printed token does not verify: %v", err)
	}
	user := strings.TrimPrefix(args[len(args)-1], "-user=")
	if args[0] == "-user" {
		user = args[1]
	}
	if c.Subject != user {
		t.Errorf("sub = %q, want %q", c.Subject, user)
	}
	if exp := c.Expires.Sub(before); exp < ttl || exp > ttl+2*time.Second {
		t.Errorf("exp is %v after the call, want about %v", exp, ttl)
	}
}
