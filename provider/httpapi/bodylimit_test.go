package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/arsaka/puguh/provider/httpapi"
)

// failingReader returns some bytes, then a read error (a client that went away).
type failingReader struct{ sent bool }

func (f *failingReader) Read(p []byte) (int, error) {
	if !f.sent {
		f.sent = true
		return copy(p, "a=b"), nil
	}
	return 0, errors.New("connection reset")
}

func TestLimitBody(t *testing.T) {
	const limit = 16
	tests := []struct {
		name          string
		body          io.Reader // nil: no body
		contentLength int64     // -1: unknown (chunked)
		wantStatus    int
		wantBody      string // what the handler read, for 200
	}{
		{name: "no body", body: nil, wantStatus: 200, wantBody: ""},
		{name: "small", body: strings.NewReader("a=b"), contentLength: 3, wantStatus: 200, wantBody: "a=b"},
		{name: "exactly the limit", body: strings.NewReader(strings.Repeat("x", limit)), contentLength: limit,
			wantStatus: 200, wantBody: strings.Repeat("x", limit)},
		{name: "exactly the limit, chunked", body: strings.NewReader(strings.Repeat("x", limit)), contentLength: -1,
			wantStatus: 200, wantBody: strings.Repeat("x", limit)},
		{name: "one byte over", body: strings.NewReader(strings.Repeat("x", limit+1)), contentLength: limit + 1, wantStatus: 413},
		{name: "one byte over, chunked", body: strings.NewReader(strings.Repeat("x", limit+1)), contentLength: -1, wantStatus: 413},
		{name: "Content-Length over, body short", body: strings.NewReader("a=b"), contentLength: 10 << 20, wantStatus: 413},
		{name: "read error", body: &failingReader{}, contentLength: -1, wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("handler read: %v", err)
				}
				if r.ContentLength != int64(len(b)) {
					t.Errorf("ContentLength = %d, body has %d bytes", r.ContentLength, len(b))
				}
				_, _ = w.Write(b)
			})
			refuse := func(w http.ResponseWriter, r *http.Request, status int) {
				w.WriteHeader(status)
				_, _ = w.Write([]byte("refused " + strconv.Itoa(status)))
			}
			req := httptest.NewRequest(http.MethodPost, "/", tc.body)
			if tc.body != nil {
				req.ContentLength = tc.contentLength
			}
			rec := httptest.NewRecorder()
			httpapi.LimitBody(limit, refuse)(next).ServeHTTP(rec, req)
			want := tc.wantBody
			if tc.wantStatus != 200 {
				want = "refused " + strconv.Itoa(tc.wantStatus)
			}
			if rec.Code != tc.wantStatus || rec.Body.String() != want {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.wantStatus, want)
			}
		})
	}
}
