package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/storage"
)

// apiKeysPage is the data of account_apikeys.html.
type apiKeysPage struct {
	frame
	Keys   []keyRow
	Roles  []string
	NewKey *credentials.CreatedKey // set only in the response to the creating POST
	// Rotated is set in the response to a rotation: NewKey replaces the
	// key it names, which works until its ReplacedEndsAt.
	Rotated  *credentials.RotatedKey
	Overlaps []overlapChoice
	Form     keyForm
	Errors   map[string]string
	Expires  []expiryChoice
}

// keyForm is what the user typed into "Create New Key".
type keyForm struct{ Name, Expiry, Role string }

// expiryChoice is one option of the expiry select.
type expiryChoice struct {
	Value, Label string
	Days         int
}

var expiryChoices = []expiryChoice{
	{"30", "30 days", 30}, {"90", "90 days", 90}, {"365", "1 year", 365}, {"never", "No expiry", 0},
}

// apiKeys lists the organization's keys (GET /account/api-keys).
func (a *Account) apiKeys(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, permKeysPage) {
		return
	}
	data := a.apiKeysData(w, r, ac)
	data.Notice = noticeOf(r)
	a.renderAPIKeys(w, r, http.StatusOK, ac, data)
}

func (a *Account) apiKeysData(w http.ResponseWriter, r *http.Request, ac *accountContext) apiKeysPage {
	data := apiKeysPage{frame: a.frame(w, r, ac, "api-keys"), Expires: expiryChoices, Form: keyForm{Expiry: "90"}}
	for _, role := range authz.Roles() {
		if ac.principal().MayGrant(role) {
			data.Roles = append(data.Roles, role)
		}
	}
	data.Form.Role = ac.org.Role
	if ac.org.Role == authz.Owner {
		data.Form.Role = authz.Admin
	}
	return data
}

// renderAPIKeys lists the keys people created (service accounts' keys live
// with their accounts) and writes the page. The copy button's script is the
// only script any page loads.
func (a *Account) renderAPIKeys(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, data apiKeysPage) {
	keys, err := a.d.APIKeys.ListKeys(r.Context(), ac.principal())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	now := a.p.now()
	for _, k := range keys {
		if k.ServiceAccountID == nil {
			data.Keys = append(data.Keys, keyRow{APIKey: k, AgeDays: int(now.Sub(k.CreatedAt) / (24 * time.Hour)),
				Due: credentials.Due(k.CreatedAt, now)})
		}
	}
	data.Overlaps = overlapChoices
	a.render(w, r, status, "account_apikeys", data, data.NewKey != nil)
}

// createAPIKey creates a key (POST /account/api-keys) and shows it in this
// very response, once: no redirect, so the key never travels in a URL, and
// the page is no-store like every other.
func (a *Account) createAPIKey(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.APIKeysCreate) {
		return
	}
	form := keyForm{Name: r.PostForm.Get("name"), Expiry: r.PostForm.Get("expiry"), Role: r.PostForm.Get("role")}
	data := a.apiKeysData(w, r, ac)
	data.Form = form
	req := credentials.KeyRequest{Name: &form.Name}
	if form.Role != "" {
		req.Role = &form.Role
	}
	switch form.Expiry {
	case "never":
	default:
		days := 0
		for _, c := range expiryChoices {
			if c.Value == form.Expiry {
				days = c.Days
			}
		}
		if days == 0 {
			data.Errors = map[string]string{"expiry": "Choose when the key expires."}
			a.renderAPIKeys(w, r, http.StatusUnprocessableEntity, ac, data)
			return
		}
		exp := a.p.now().Add(time.Duration(days) * 24 * time.Hour).UTC().Format(time.RFC3339)
		req.ExpiresAt = &exp
	}
	created, err := a.d.APIKeys.CreateKey(r.Context(), ac.principal(), req)
	if err != nil {
		fields, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		if msg != "" && status == http.StatusForbidden {
			fields["role"] = "Your role cannot give a key this role (" + msg + ")."
		} else if msg != "" {
			fields["name"] = msg
		}
		if fields["expires_at"] != "" {
			fields["expiry"] = fields["expires_at"]
		}
		data.Errors = fields
		a.renderAPIKeys(w, r, status, ac, data)
		return
	}
	// Log the key's id and display prefix, never the key.
	data.NewKey = created
	data.Form = keyForm{Expiry: "90", Role: data.Form.Role}
	a.renderAPIKeys(w, r, http.StatusCreated, ac, data)
}

// confirmPage is the data of account_confirm.html: one destructive action
// to confirm, with a form that performs it.
type confirmPage struct {
	frame
	Title, Message, Action, Button, Back string
}

// confirmRevokeAPIKey asks before revoking (GET /account/api-keys/{id}/revoke).
func (a *Account) confirmRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, authz.APIKeysDelete) {
		return
	}
	id := mux.Vars(r)["id"]
	keys, err := a.d.APIKeys.ListKeys(r.Context(), ac.principal())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	i := slices.IndexFunc(keys, func(k storage.APIKey) bool { return k.ID == id && k.ServiceAccountID == nil })
	if i < 0 {
		a.p.RenderError(w, r, http.StatusNotFound, "API key not found", "This API key does not exist or was already revoked.", "", "")
		return
	}
	k := &keys[i]
	a.render(w, r, http.StatusOK, "account_confirm", confirmPage{
		frame: a.frame(w, r, ac, "api-keys"), Title: "Revoke API key?",
		Message: "Revoke “" + k.Name + "” (" + k.Prefix + "…)? Every program using it will be refused at once. This cannot be undone.",
		Action:  "/account/api-keys/" + k.ID + "/revoke", Button: "Revoke key", Back: "/account/api-keys",
	}, false)
}

// revokeAPIKey revokes a key after confirmation (POST /account/api-keys/{id}/revoke)
// with the REST endpoint's rules (credentials.Service.RevokeKey).
func (a *Account) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, authz.APIKeysDelete) {
		return
	}
	if err := a.d.APIKeys.RevokeKey(r.Context(), ac.principal(), mux.Vars(r)["id"]); err != nil {
		_, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		a.p.RenderError(w, r, status, "API key not revoked", strings.TrimSpace(msg), "", "")
		return
	}
	a.afterPost(w, "/account/api-keys", "revoked")
}
