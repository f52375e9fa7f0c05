package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	const (
		jsonCT     = "application/json"
		decodeErr  = `{"detail":[{"loc":["body"],"msg":"JSON decode error","type":"value_error.jsondecode"}]}`
		unsupprted = `{"detail":"Unsupported Media Type: send Content-Type: application/json"}`
	)
	typeErr := func(loc, msg, typ string) string {
		return `{"detail":[{"loc":` + loc + `,"msg":"` + msg + `","type":"` + typ + `"}]}`
	}
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		want        string
	}{
		{name: "valid", contentType: jsonCT, body: `{"email":"a@example.com","age":3,"tags":["x"],"profile":{"name":"A"}}`,
			status: 201, want: `{"email":"a@example.com"}`},
		{name: "content type with charset", contentType: "application/json; charset=utf-8", body: `{"email":"b@example.com"}`,
			status: 201, want: `{"email":"b@example.com"}`},
		{name: "surrounding whitespace", contentType: jsonCT, body: " \n{\"email\":\"c@example.com\"}\n ",
			status: 201, want: `{"email":"c@example.com"}`},

		{name: "missing content type", contentType: "", body: `{"email":"a@example.com"}`, status: 415, want: unsupprted},
		{name: "form content type", contentType: "application/x-www-form-urlencoded", body: `email=a`, status: 415, want: unsupprted},
		{name: "text/plain", contentType: "text/plain", body: `{"email":"a@example.com"}`, status: 415, want: unsupprted},
		{name: "json suffix type", contentType: "application/merge-patch+json", body: `{}`, status: 415, want: unsupprted},
		{name: "malformed content type", contentType: "application/json; ===", body: `{}`, status: 415, want: unsupprted},

		{name: "10 MB body", contentType: jsonCT, body: `{"email":"` + strings.Repeat("a", 10<<20) + `"}`,
			status: 413, want: `{"detail":"Request body too large"}`},
		{name: "one byte over the limit", contentType: jsonCT, body: `{"email":"` + strings.Repeat("a", maxBody-len(`{"email":""}`)+1) + `"}`,
			status: 413, want: `{"detail":"Request body too large"}`},
		{name: "exactly the limit", contentType: jsonCT, body: `{"email":"` + strings.Repeat("a", maxBody-len(`{"email":"a"}`)) + `a"}`,
			status: 201, want: `{"email":"` + strings.Repeat("a", maxBody-len(`{"email":""}`)) + `"}`},

		{name: "empty body", contentType: jsonCT, body: ``, status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}`},
		{name: "whitespace body", contentType: jsonCT, body: " \r\n\t", status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}`},
		{name: "truncated", contentType: jsonCT, body: `{"email":`, status: 422, want: decodeErr},
		{name: "not json", contentType: jsonCT, body: `email=a@example.com`, status: 422, want: decodeErr},
		{name: "single quotes", contentType: jsonCT, body: `{'email':'a'}`, status: 422, want: decodeErr},
		{name: "trailing comma", contentType: jsonCT, body: `{"email":"a",}`, status: 422, want: decodeErr},
		{name: "trailing object", contentType: jsonCT, body: `{"email":"a"}{"email":"b"}`, status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"JSON decode error: extra data after the object","type":"value_error.jsondecode"}]}`},
		{name: "trailing garbage", contentType: jsonCT, body: `{"email":"a"} x`, status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"JSON decode error: extra data after the object","type":"value_error.jsondecode"}]}`},
		{name: "unknown field", contentType: jsonCT, body: `{"email":"a","field":1}`, status: 422,
			want: `{"detail":[{"loc":["body","field"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},

		// Keys match a field's name exactly and appear once: encoding/json
		// folded case (even "ſ" to "s") and kept the last of duplicates.
		{name: "key in upper case", contentType: jsonCT, body: `{"EMAIL":"a@example.com"}`, status: 422,
			want: `{"detail":[{"loc":["body","EMAIL"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},
		{name: "key in mixed case", contentType: jsonCT, body: `{"Email":"a@example.com"}`, status: 422,
			want: `{"detail":[{"loc":["body","Email"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},
		{name: "key with a long s", contentType: jsonCT, body: `{"ſcore":1}`, status: 422,
			want: `{"detail":[{"loc":["body","ſcore"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},
		{name: "key escaped in upper case", contentType: jsonCT, body: `{"\u0045mail":"a@example.com"}`, status: 422,
			want: `{"detail":[{"loc":["body","Email"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},
		{name: "same key in another case", contentType: jsonCT, body: `{"email":"a@example.com","EMAIL":"b@example.com"}`, status: 422,
			want: `{"detail":[{"loc":["body","EMAIL"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},
		{name: "duplicate key", contentType: jsonCT, body: `{"email":"a@example.com","email":"b@example.com"}`, status: 422,
			want: `{"detail":[{"loc":["body","email"],"msg":"duplicate key not permitted","type":"value_error.duplicate_key"}]}`},
		{name: "duplicate key, once escaped", contentType: jsonCT, body: `{"email":"a@example.com","\u0065mail":"b@example.com"}`, status: 422,
			want: `{"detail":[{"loc":["body","email"],"msg":"duplicate key not permitted","type":"value_error.duplicate_key"}]}`},
		{name: "duplicate key with equal values", contentType: jsonCT, body: `{"age":1,"age":1}`, status: 422,
			want: `{"detail":[{"loc":["body","age"],"msg":"duplicate key not permitted","type":"value_error.duplicate_key"}]}`},
		{name: "nested key in upper case", contentType: jsonCT, body: `{"profile":{"NAME":"A"}}`, status: 422,
			want: `{"detail":[{"loc":["body","profile","NAME"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},
		{name: "nested duplicate key", contentType: jsonCT, body: `{"profile":{"name":"A","name":"B"}}`, status: 422,
			want: `{"detail":[{"loc":["body","profile","name"],"msg":"duplicate key not permitted","type":"value_error.duplicate_key"}]}`},
		{name: "duplicate key in an array of objects", contentType: jsonCT, body: `{"members":[{"role":"viewer"},{"role":"viewer","role":"owner"}]}`,
			status: 422, want: `{"detail":[{"loc":["body","members",1,"role"],"msg":"duplicate key not permitted","type":"value_error.duplicate_key"}]}`},
		{name: "key in upper case in an array of objects", contentType: jsonCT, body: `{"members":[{"role":"viewer","ROLE":"owner"}]}`,
			status: 422, want: `{"detail":[{"loc":["body","members",0,"ROLE"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`},
		{name: "array of objects", contentType: jsonCT, body: `{"email":"d@example.com","members":[{"role":"viewer"},{"role":"owner"}]}`,
			status: 201, want: `{"email":"d@example.com"}`},

		{name: "string expected", contentType: jsonCT, body: `{"email":1}`, status: 422,
			want: typeErr(`["body","email"]`, "str type expected", "type_error.str")},
		{name: "integer expected", contentType: jsonCT, body: `{"age":"three"}`, status: 422,
			want: typeErr(`["body","age"]`, "value is not a valid integer", "type_error.integer")},
		{name: "integer overflow", contentType: jsonCT, body: `{"age":1e400}`, status: 422,
			want: typeErr(`["body","age"]`, "value is not a valid integer", "type_error.integer")},
		{name: "fraction for an integer", contentType: jsonCT, body: `{"age":1.5}`, status: 422,
			want: typeErr(`["body","age"]`, "value is not a valid integer", "type_error.integer")},
		{name: "boolean expected", contentType: jsonCT, body: `{"admin":"yes"}`, status: 422,
			want: typeErr(`["body","admin"]`, "value could not be parsed to a boolean", "type_error.bool")},
		{name: "float expected", contentType: jsonCT, body: `{"score":[]}`, status: 422,
			want: typeErr(`["body","score"]`, "value is not a valid float", "type_error.float")},
		{name: "list expected", contentType: jsonCT, body: `{"tags":"x"}`, status: 422,
			want: typeErr(`["body","tags"]`, "value is not a valid list", "type_error.list")},
		{name: "dict expected", contentType: jsonCT, body: `{"profile":"x"}`, status: 422,
			want: typeErr(`["body","profile"]`, "value is not a valid dict", "type_error.dict")},
		{name: "nested field", contentType: jsonCT, body: `{"profile":{"name":5}}`, status: 422,
			want: typeErr(`["body","profile","name"]`, "str type expected", "type_error.str")},
		{name: "list element", contentType: jsonCT, body: `{"tags":["a",2]}`, status: 422,
			want: typeErr(`["body","tags",1]`, "str type expected", "type_error.str")},
		{name: "field of an object in a list", contentType: jsonCT, body: `{"members":[{"role":true}]}`, status: 422,
			want: typeErr(`["body","members",0,"role"]`, "str type expected", "type_error.str")},
		{name: "array instead of object", contentType: jsonCT, body: `[{"email":"a"}]`, status: 422,
			want: typeErr(`["body"]`, "value is not a valid dict", "type_error.dict")},
		{name: "string instead of object", contentType: jsonCT, body: `"a@example.com"`, status: 422,
			want: typeErr(`["body"]`, "value is not a valid dict", "type_error.dict")},

		{name: "invalid UTF-8", contentType: jsonCT, body: "{\"email\":\"a\xff\xfe\"}", status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"body is not valid UTF-8","type":"value_error.unicode"}]}`},
		{name: "overlong UTF-8 slash", contentType: jsonCT, body: "{\"email\":\"\xc0\xaf\"}", status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"body is not valid UTF-8","type":"value_error.unicode"}]}`},
		{name: "raw NUL byte", contentType: jsonCT, body: "{\"email\":\"a\x00b\"}", status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"NUL characters are not allowed","type":"value_error.nul"}]}`},
		{name: "escaped NUL", contentType: jsonCT, body: `{"email":"a\u0000b"}`, status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"NUL characters are not allowed","type":"value_error.nul"}]}`},
		{name: "NUL in a key", contentType: jsonCT, body: `{"em\u0000ail":"a"}`, status: 422,
			want: `{"detail":[{"loc":["body"],"msg":"NUL characters are not allowed","type":"value_error.nul"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newTestAPI(t)
			req := httptest.NewRequest(http.MethodPost, "/items", bytes.NewReader([]byte(tc.body)))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			got := api.do(t, req)
			if got.status != tc.status {
				t.Errorf("status = %d, want %d", got.status, tc.status)
			}
			if got.body != tc.want {
				b, w := got.body, tc.want
				if len(b) > 300 {
					b = b[:300] + "…"
				}
				if len(w) > 300 {
					w = w[:300] + "…"
				}
				t.Errorf("body =\n  %s\nwant\n  %s", b, w)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if strings.Contains(api.logs.String(), `"status":500`) {
				t.Errorf("a 500 was logged:\n%s", api.logs)
			}
		})
	}
}
