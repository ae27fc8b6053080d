// Package web holds chatd's browser side, embedded in the binary: the
// demo app at / (index.html, app/) and the JavaScript SDK at /sdk/
// (chat.js, chat.d.ts). It needs no build step; the tests in web/test
// run under Node and headless Chromium (web/test/run.sh).
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html app sdk
var files embed.FS

// FS returns the files served at the root of chatd's listener: index.html,
// app/ and sdk/.
func FS() fs.FS { return files }
