package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/httpapi"
)

// fuzzPayload has every kind of field a request body decodes into, including
// free-form ones (map, any) where unchecked strings could hide.
type fuzzPayload struct {
	Email   string            `json:"email"`
	Count   int64             `json:"count"`
	Small   uint8             `json:"small"`
	Ratio   float32           `json:"ratio"`
	On      *bool             `json:"on"`
	Tags    []string          `json:"tags"`
	Scopes  [2]string         `json:"scopes"`
	Meta    map[string]string `json:"meta"`
	Extra   any               `json:"extra"`
	When    time.Time         `json:"when"`
	Raw     json.RawMessage   `json:"raw"`
	Profile *struct {
		Name  string `json:"name"`
		Inner struct {
			Depth int `json:"depth"`
		} `json:"inner"`
	} `json:"profile"`
	Members []struct {
		Role string `json:"role"`
	} `json:"members"`
}

// FuzzDecodeJSON feeds arbitrary bytes through DecodeJSON: the outcome is a
// decoded value or a 4xx written as a FastAPI error, never a panic or a 5xx.
// Nothing accepted carries a NUL character, repeats a key in any object, or
// has a key that is not exactly a field's name where the body maps to a
// struct (checked by strictKeys, a separate reading of the body).
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		``, ` `, `{}`, `null`, `[]`, `"x"`, `0`, `{"email":"a@example.com"}`,
		`{"email":"a"}{"email":"b"}`, `{"email":`, `{"unknown":1}`, `{"count":1e400}`, `{"small":256}`,
		`{"small":-1}`, `{"ratio":1e39}`, `{"on":"true"}`, `{"tags":[1]}`, `{"scopes":["a","b","c"]}`,
		`{"meta":{"k":1}}`, `{"meta":{"k\u0000":"v"}}`, `{"extra":{"a":[{"b":"\u0000"}]}}`,
		`{"when":"2024-01-01T00:00:00Z"}`, `{"when":"yesterday"}`, `{"when":5}`, `{"raw":{"a":1}}`,
		`{"profile":{"inner":{"depth":"deep"}}}`, `{"profile":{"inner":{"x":1}}}`,
		"{\"email\":\"\xff\"}", "{\"email\":\"a\x00\"}", `{"email":"\ud800"}`, `{"email":"\\u0000"}`,
		strings.Repeat("[", 20000), `{"extra":` + strings.Repeat(`{"a":`, 12000) + `1` + strings.Repeat(`}`, 12000) + `}`,
		`{"email":"a","email":"b"}`, `{"EMAIL":"a"}`, `{"Email":"a"}`, `{"\u0045mail":"a"}`, `{"email":"a","\u0065mail":"b"}`,
		`{"ſmall":1}`, `{"\u017fmall":1}`, "{\"tag\u212as\":[]}", `{"profile":{"NAME":"a"}}`, `{"profile":{"name":"a","name":"b"}}`,
		`{"profile":{"inner":{"depth":1,"depth":2}}}`, `{"members":[{"role":"viewer"},{"role":"viewer","role":"owner"}]}`,
		`{"members":[{"role":"viewer","ROLE":"owner"}]}`, `{"meta":{"k":"a","k":"b"}}`, `{"meta":{"k":"a","K":"b"}}`,
		`{"extra":[{"a":1,"a":2}]}`, `{"raw":{"a":1,"a":2}}`, `{"tags":["a",2]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		var dst fuzzPayload
		err := httpapi.DecodeJSON(rec, req, 64<<10, &dst)
		if err == nil {
			if len(body) > 64<<10 {
				t.Fatalf("accepted %d bytes over a 64 KiB limit", len(body))
			}
			var all bytes.Buffer
			_ = json.NewEncoder(&all).Encode(dst)
			if bytes.Contains(all.Bytes(), []byte(`\u0000`)) {
				t.Fatalf("accepted a NUL character: %q", body)
			}
			if err := strictKeys(json.NewDecoder(bytes.NewReader(body)), reflect.TypeOf(dst)); err != nil {
				t.Fatalf("accepted %q: %v", body, err)
			}
			return
		}
		var e *httpapi.Error
		if !errors.As(err, &e) {
			t.Fatalf("DecodeJSON returned %T %v, want *httpapi.Error", err, err)
		}
		if e.Status < 400 || e.Status > 499 {
			t.Fatalf("DecodeJSON status %d for %q: %v", e.Status, body, err)
		}
		httpapi.WriteError(rec, req, err)
		if rec.Code != e.Status {
			t.Fatalf("WriteError wrote %d, want %d", rec.Code, e.Status)
		}
		var out struct {
			Detail json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Detail) == 0 {
			t.Fatalf("error body %q is not {\"detail\": …}: %v", rec.Body.Bytes(), err)
		}
		if e.Status == http.StatusUnprocessableEntity {
			var issues []httpapi.Issue
			if err := json.Unmarshal(out.Detail, &issues); err != nil || len(issues) == 0 {
				t.Fatalf("422 detail %s is not a non-empty issue list: %v", out.Detail, err)
			}
			for _, is := range issues {
				if len(is.Loc) == 0 || is.Loc[0] != "body" || is.Msg == "" || is.Type == "" {
					t.Fatalf("malformed issue %+v", is)
				}
			}
		}
	})
}

// strictKeys reads one JSON value from dec, where the body maps to Go type t
// (nil: free-form), and reports a key DecodeJSON should have refused: one
// that repeats in its object, or one that is not exactly the JSON name of a
// field of the struct the object maps to.
func strictKeys(dec *json.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := k.(string)
			if seen[key] {
				return fmt.Errorf("duplicate key %q", key)
			}
			seen[key] = true
			var child reflect.Type
			switch {
			case t == nil:
			case t.Kind() == reflect.Map:
				child = t.Elem()
			case t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]():
				f, ok := fieldNamed(t, key)
				if !ok {
					return fmt.Errorf("key %q is not a field of %s", key, t)
				}
				child = f.Type
			}
			if err := strictKeys(dec, child); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		var child reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			child = t.Elem()
		}
		for dec.More() {
			if err := strictKeys(dec, child); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// fieldNamed finds the field whose JSON name is exactly name.
func fieldNamed(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
