package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// DecodeJSON reads a JSON object body into dst strictly: the Content-Type must be
// application/json (415), the body at most maxBytes (413), valid UTF-8 without NUL
// characters, one object with no unknown fields and the right types (422).
// It never lets bad input through to become a 500 further down.
func DecodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Detail: "Unsupported Media Type: send Content-Type: application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Detail: "Request body too large", Err: err}
		}
		return &Error{Status: http.StatusBadRequest, Detail: "Could not read request body", Err: err}
	}
	return decodeBody(body, dst)
}

func decodeBody(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Invalid(Issue{Loc: []any{"body"}, Msg: "field required", Type: "value_error.missing"})
	}
	if !utf8.Valid(body) {
		return Invalid(Issue{Loc: []any{"body"}, Msg: "body is not valid UTF-8", Type: "value_error.unicode"})
	}
	// NUL cannot be stored in PostgreSQL text and has no business in any field.
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(body, []byte(`\u0000`)) {
		return Invalid(Issue{Loc: []any{"body"}, Msg: "NUL characters are not allowed", Type: "value_error.nul"})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid(Issue{Loc: []any{"body"}, Msg: "JSON decode error: extra data after the object", Type: "value_error.jsondecode"})
	}
	return nil
}

// decodeError maps encoding/json's errors to pydantic v1's 422 entries.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		loc := []any{"body"}
		if typeErr.Field != "" {
			for _, f := range strings.Split(typeErr.Field, ".") {
				loc = append(loc, f)
			}
		}
		msg, typ := typeIssue(typeErr.Type)
		return Invalid(Issue{Loc: loc, Msg: msg, Type: typ})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid(Issue{Loc: []any{"body"}, Msg: "JSON decode error", Type: "value_error.jsondecode"})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid(Issue{Loc: []any{"body", field}, Msg: "extra fields not permitted", Type: "value_error.extra"})
	}
	return Invalid(Issue{Loc: []any{"body"}, Msg: "JSON decode error", Type: "value_error.jsondecode"})
}

func typeIssue(t reflect.Type) (msg, typ string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "str type expected", "type_error.str"
	case reflect.Bool:
		return "value could not be parsed to a boolean", "type_error.bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "value is not a valid integer", "type_error.integer"
	case reflect.Float32, reflect.Float64:
		return "value is not a valid float", "type_error.float"
	case reflect.Slice, reflect.Array:
		return "value is not a valid list", "type_error.list"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "invalid datetime format", "value_error.datetime"
		}
		return "value is not a valid dict", "type_error.dict"
	}
	return "value is not valid", "type_error"
}
