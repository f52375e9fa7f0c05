package rest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
	"gopkg.in/yaml.v3"

	"github.com/arsaka/puguh/provider/httpapi"
)

// openapiYAML is the REST API's contract, written by hand in YAML and served
// as JSON: the one copy that the tests check the routes and responses against.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIJSON returns the contract (provider/rest/openapi.yaml) as an OpenAPI
// 3.1 JSON document.
func OpenAPIJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	return b, nil
}

// OpenAPIAPI serves GET /api/v1/openapi.json.
type OpenAPIAPI struct {
	doc []byte
}

// NewOpenAPIAPI converts the contract once, at startup.
func NewOpenAPIAPI() (*OpenAPIAPI, error) {
	doc, err := OpenAPIJSON()
	if err != nil {
		return nil, err
	}
	return &OpenAPIAPI{doc: doc}, nil
}

// Mount registers the route.
func (a *OpenAPIAPI) Mount(r *mux.Router) {
	r.Handle("/api/v1/openapi.json", httpapi.HandlerFunc(a.serve)).Methods(http.MethodGet, http.MethodHead)
}

// serve answers with the document. It authenticates nothing, so it draws on
// the anonymous per-IP budget like every other such /api/v1 request.
func (a *OpenAPIAPI) serve(w http.ResponseWriter, r *http.Request) error {
	if err := httpapi.LimitAnonymous(w, r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(a.doc)
	return nil
}
