package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// keyRow is a key as the API Keys page lists it: its age in days, and
// whether it is old enough to rotate (credentials.Due).
type keyRow struct {
	storage.APIKey
	AgeDays int
	Due     bool
}

// overlapChoice is one option of a Rotate form: how long the old key keeps
// working beside the new one.
type overlapChoice struct{ Value, Label string }

var overlapChoices = []overlapChoice{
	{"24h", "old key works 24 hours"}, {"1h", "old key works 1 hour"}, {"168h", "old key works 7 days"},
	{"0s", "old key stops now (compromised)"},
}

// rotateAPIKey replaces a key (POST /account/api-keys/{id}/rotate) with the
// REST endpoint's rules (credentials.Service.RotateKey) and shows the new key
// in this very response, once, like creating one.
func (a *Account) rotateAPIKey(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.APIKeysCreate) {
		return
	}
	overlap := r.PostForm.Get("overlap")
	rotated, err := a.d.APIKeys.RotateKey(r.Context(), ac.principal(), mux.Vars(r)["id"], &overlap)
	if err != nil {
		fields, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		if msg == "" {
			msg = fields["overlap"]
		}
		a.p.RenderError(w, r, status, "API key not rotated", strings.TrimSpace(msg), "", "")
		return
	}
	httpapi.Logger(r.Context()).Info("api key rotated", "user_id", ac.user.ID, "organization_id", ac.org.ID,
		"key_id", rotated.ID, "replaces", rotated.Replaces)
	data := a.apiKeysData(w, r, ac)
	data.NewKey, data.Rotated = &rotated.CreatedKey, rotated
	a.renderAPIKeys(w, r, http.StatusCreated, ac, data)
}
