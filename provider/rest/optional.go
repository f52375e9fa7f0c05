package rest

import (
	"net/http"

	"github.com/arsaka/puguh/provider/httpapi"
)

// decodeOptionalJSON decodes a body that may be left out: a request with no
// body and no Content-Type keeps dst's zero value; anything else is strict
// JSON (httpapi.DecodeJSON: 415, 413, 422).
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return httpapi.DecodeJSON(w, r, maxBytes, dst)
}
