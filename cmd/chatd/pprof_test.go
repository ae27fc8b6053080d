package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// CHAT_PPROF_ADDR serves the profile index on its own listener, and
// nothing else; Close stops it.
func TestServePprof(t *testing.T) {
	ps, err := servePprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	addr := ps.Addr // set by servePprof to the address it listens on
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d %.200s", code, body)
	}
	if code, _ := get("/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the pprof listener: %d, want 404", code)
	}
}
