// Package web holds chatd's browser side, embedded in the binary: the
// demo app at / and the JavaScript SDK at /sdk/. It needs no build step.
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html
var files embed.FS

// FS returns the files served at the root of chatd's listener.
func FS() fs.FS { return files }
