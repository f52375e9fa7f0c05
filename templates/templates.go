// Package templates holds the server-rendered pages and their stylesheet,
// embedded in the binary so the pages work offline and need no CDN.
//
// Every page is layout.html plus one page file that defines "title" and
// "content"; package provider/web parses them once at start-up.
package templates

import "embed"

// FS holds layout.html, the page templates, static/ (served at /static/),
// mail/, the outgoing messages (package provider/mail), and apidocs/, the
// vendored Swagger UI of /docs/api with its licences (apidocs/README.md).
//
//go:embed *.html static mail apidocs/*.gz apidocs/LICENSE apidocs/NOTICE apidocs/THIRD-PARTY-NOTICES.txt apidocs/VERSION
var FS embed.FS
