package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"chatd/groups"
	"chatd/server/auth"
)

const tokenUsage = `usage: chatd token -user U [-ttl 24h]

Prints a login token for user U signed with CHAT_TOKEN_SECRET (the public
development secret when it is empty), for scripts and load tests.

`

// runToken implements "chatd token": it prints a token and a newline on
// stdout and returns the exit code (2 for a usage error).
func runToken(args []string, cfg *Config, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatd token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, tokenUsage)
		fs.PrintDefaults()
	}
	user := fs.String("user", "", "`userID` the token is for: 1..32 bytes of printable ASCII (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // fs has printed the error and the usage
	}
	if msg := checkTokenArgs(fs, *user, *ttl); msg != "" {
		fmt.Fprintln(stderr, "chatd token:", msg)
		fs.Usage()
		return 2
	}
	tok, err := auth.Sign(cfg.Secret(), *user, *ttl, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "chatd token:", err)
		return 1
	}
	if cfg.DevMode() {
		fmt.Fprintln(stderr, "chatd token: dev mode: signed with the public development secret")
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

func checkTokenArgs(fs *flag.FlagSet, user string, ttl time.Duration) string {
	switch {
	case fs.NArg() > 0:
		return fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case user == "":
		return "-user is required"
	case !groups.ValidUserID(user):
		return fmt.Sprintf("-user %q is not a userID (1..%d bytes of printable ASCII)", user, groups.MaxUserIDBytes)
	case ttl <= 0:
		return fmt.Sprintf("-ttl must be positive, got %v", ttl)
	}
	return ""
}
