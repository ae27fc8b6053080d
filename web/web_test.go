package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestFS checks that the served tree holds the demo and the SDK, and none
// of the test tooling.
func TestFS(t *testing.T) {
	for _, name := range []string{"index.html", "sdk/chat.js", "sdk/chat.d.ts", "app/main.js", "app/app.css"} {
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	err := fs.WalkDir(FS(), ".", func(path string, _ fs.DirEntry, err error) error {
		if strings.HasPrefix(path, "test") || strings.Contains(path, "node_modules") {
			t.Errorf("%s must not be served", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// htmlSinks are the DOM APIs that parse HTML; the demo renders user text
// only through textContent and text nodes.
var htmlSinks = regexp.MustCompile(`\.innerHTML\s*[+]?=|\.outerHTML\s*=|insertAdjacentHTML|document\.write`)

func TestNoHTMLSinks(t *testing.T) {
	for _, dir := range []string{"app", "sdk"} {
		entries, err := fs.ReadDir(FS(), dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := dir + "/" + e.Name()
			b, err := fs.ReadFile(FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			if loc := htmlSinks.FindIndex(b); loc != nil {
				t.Errorf("%s: %q parses HTML; use textContent", name, b[loc[0]:loc[1]])
			}
		}
	}
}
