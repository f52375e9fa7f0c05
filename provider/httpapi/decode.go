package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DecodeJSON reads a JSON object body into dst strictly: the Content-Type must be
// application/json (415), the body at most maxBytes (413), valid UTF-8 without NUL
// characters, one object whose keys each name a field exactly (same case, no
// Unicode folding), appear once and have the right type (422). Nested objects,
// and objects inside arrays, follow the same rules.
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
			return TooLarge(err)
		}
		return &Error{Status: http.StatusBadRequest, Detail: "Could not read request body", Err: err}
	}
	return decodeBody(body, dst)
}

// strict are the decoding options. The JSON v2 decoder already matches
// member names exactly (encoding/json folds case, and even folds "ſ" to
// "s") and refuses duplicate names anywhere in the document (encoding/json
// keeps the last, so {"role":"viewer","role":"owner"} could smuggle a value
// past a proxy or a log that reads the first); unknown members are refused too.
var strict = json.RejectUnknownMembers(true)

// decoders are reused: a jsontext.Decoder keeps its state stack and name
// sets between bodies.
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(noBody{}) }}

// noBody is what a pooled decoder reads while it waits, so it keeps no body alive.
type noBody struct{}

func (noBody) Read([]byte) (int, error) { return 0, io.EOF }

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
	dec := decoders.Get().(*jsontext.Decoder)
	defer func() {
		dec.Reset(noBody{})
		decoders.Put(dec)
	}()
	// A bytes.Buffer is parsed in place, without a copy.
	dec.Reset(bytes.NewBuffer(body), strict)
	if err := json.UnmarshalDecode(dec, dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return Invalid(Issue{Loc: []any{"body"}, Msg: "JSON decode error: extra data after the object", Type: "value_error.jsondecode"})
	}
	return nil
}

// decodeError maps the decoder's errors to pydantic v1's 422 entries.
func decodeError(err error) error {
	var semErr *json.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.As(err, &synErr) && errors.Is(err, jsontext.ErrDuplicateName):
		return Invalid(Issue{Loc: location(synErr.JSONPointer), Msg: "duplicate key not permitted", Type: "value_error.duplicate_key"})
	case errors.As(err, &semErr) && errors.Is(err, json.ErrUnknownName):
		// A key that differs from a field only in case is unknown too, as
		// it is to pydantic.
		return Invalid(Issue{Loc: location(semErr.JSONPointer), Msg: "extra fields not permitted", Type: "value_error.extra"})
	case errors.As(err, &semErr) && semErr.GoType != nil && !errors.As(err, &synErr) && !errors.Is(err, io.ErrUnexpectedEOF):
		msg, typ := typeIssue(semErr.GoType)
		return Invalid(Issue{Loc: location(semErr.JSONPointer), Msg: msg, Type: typ})
	}
	return Invalid(Issue{Loc: []any{"body"}, Msg: "JSON decode error", Type: "value_error.jsondecode"})
}

// location turns a JSON Pointer (RFC 6901) into a pydantic loc: "body", then
// each member name, with array indexes as numbers (["body","tags",1]).
func location(p jsontext.Pointer) []any {
	loc := []any{"body"}
	for tok := range p.Tokens() {
		if i, err := strconv.Atoi(tok); err == nil && i >= 0 && strconv.Itoa(i) == tok {
			loc = append(loc, i)
			continue
		}
		loc = append(loc, tok)
	}
	return loc
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
