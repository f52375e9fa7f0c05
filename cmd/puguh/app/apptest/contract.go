package apptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Contract is the REST API's OpenAPI document as the server serves it
// (GET /api/v1/openapi.json), loaded and checked with kin-openapi.
type Contract struct {
	Doc    *openapi3.T
	router routers.Router
}

// LoadContract fetches the running server's OpenAPI document and validates
// it as OpenAPI 3.1.
func (e *Env) LoadContract() *Contract {
	e.T.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections() // leave no idle connection behind to change how the server shuts down
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get(e.URL + "/api/v1/openapi.json")
	if err != nil {
		e.T.Fatalf("GET /api/v1/openapi.json: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		e.T.Fatalf("GET /api/v1/openapi.json: %d %v %.200s", resp.StatusCode, err, b)
	}
	c, err := NewContract(b, e.URL)
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

// NewContract parses an OpenAPI document, validates it, and routes requests
// to base (the document's servers are replaced by it).
func NewContract(doc []byte, base string) (*Contract, error) {
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := d.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	d.Servers = openapi3.Servers{{URL: base}}
	r, err := gorillamux.NewRouter(d)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &Contract{Doc: d, router: r}, nil
}

// Operation returns the documented operation of method and path (a concrete
// URL path), or nil.
func (c *Contract) Operation(method, path string) *openapi3.Operation {
	req, err := http.NewRequest(method, c.Doc.Servers[0].URL+path, nil)
	if err != nil {
		return nil
	}
	route, _, err := c.router.FindRoute(req)
	if err != nil {
		return nil
	}
	return route.Operation
}

// Check validates one exchange against the document: the status must be
// documented for the operation, and the headers and body must match its
// schemas. Requests to no documented operation are not checked (unknown
// paths, wrong methods: their 404 and 405 are the router's, not an
// operation's). It returns nil when the exchange conforms.
func (c *Contract) Check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return fmt.Errorf("%s %s → %d does not match the OpenAPI document (operation %s): %v\nbody: %.600s",
			req.Method, req.URL.RequestURI(), status, route.Operation.OperationID, err, body)
	}
	return nil
}

// contractTransport checks every /api/v1 exchange a test makes against the
// document and reports mismatches to report.
type contractTransport struct {
	next     http.RoundTripper
	contract *Contract
	report   func(error)
}

func (t *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil // the caller sees the short body
	}
	if cerr := t.contract.Check(req, resp.StatusCode, resp.Header, body); cerr != nil {
		t.report(cerr)
	}
	return resp, nil
}

// checkContract makes e's client validate every /api/v1 response against the
// server's own OpenAPI document, failing the test that started the server.
func (e *Env) checkContract() {
	t := e.T
	e.Client.Transport = &contractTransport{
		next:     e.Client.Transport,
		contract: e.LoadContract(),
		report: func(err error) {
			t.Helper()
			t.Errorf("contract: %v", err)
		},
	}
}
