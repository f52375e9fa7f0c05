package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// Rotating an API key and a service account's secret are security events:
// each lands in the organization's audit log with who did it, the rotated
// credential as the subject and the overlap chosen, and neither the new nor
// the old secret is in the log or the stored event. A refused rotation (a
// second one of the same key) records nothing. On SQLite and PostgreSQL.
func TestAuditRotations(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		owner := e.NewUser()
		r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "deploys"}, owner.Bearer()...)
		if r.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		var key struct{ ID, Key, Prefix string }
		r.JSON(t, &key)
		r = e.Do(http.MethodPost, "/api/v1/api-keys/"+key.ID+"/rotate", map[string]string{"overlap": "1h"}, owner.Bearer()...)
		if r.Status != http.StatusCreated {
			t.Fatalf("rotate key: %d %s", r.Status, r.Body)
		}
		var rotated struct{ ID, Key, Prefix string }
		r.JSON(t, &rotated)
		if r := e.Do(http.MethodPost, "/api/v1/api-keys/"+key.ID+"/rotate", map[string]string{"overlap": "1h"}, owner.Bearer()...); r.Status != http.StatusConflict {
			t.Fatalf("second rotation: %d %s", r.Status, r.Body)
		}

		r = e.Do(http.MethodPost, "/api/v1/service-accounts", map[string]string{"name": "billing-sync", "role": "member"}, owner.Bearer()...)
		if r.Status != http.StatusCreated {
			t.Fatalf("create service account: %d %s", r.Status, r.Body)
		}
		var sa struct {
			ID       string `json:"id"`
			ClientID string `json:"client_id"`
			Secret   string `json:"client_secret"`
		}
		r.JSON(t, &sa)
		r = e.Do(http.MethodPost, "/api/v1/service-accounts/"+sa.ID+"/rotate-secret", map[string]string{"overlap": "0s"}, owner.Bearer()...)
		if r.Status != http.StatusOK {
			t.Fatalf("rotate secret: %d %s", r.Status, r.Body)
		}
		var newSecret struct {
			Secret string `json:"client_secret"`
		}
		r.JSON(t, &newSecret)

		got := listAudit(t, e, owner, "?type=api_key.rotated&type=service_account.secret_rotated")
		if g := typesOf(got.Items); strings.Join(g, " ") != "service_account.secret_rotated api_key.rotated" {
			t.Fatalf("events = %v, want one rotation of each", g)
		}
		saEv, keyEv := got.Items[0], got.Items[1]
		if keyEv.SubjectType != "api_key" || keyEv.SubjectID != key.ID || keyEv.ActorType != "user" || keyEv.ActorID != owner.ID ||
			keyEv.OrganizationID != owner.OrganizationID || keyEv.Details["name"] != "deploys" || keyEv.Details["prefix"] != key.Prefix ||
			keyEv.Details["replaced_by"] != rotated.ID || keyEv.Details["new_prefix"] != rotated.Prefix || keyEv.Details["overlap"] != "1h0m0s" {
			t.Errorf("api_key.rotated = %+v", keyEv)
		}
		if saEv.SubjectType != "service_account" || saEv.SubjectID != sa.ID || saEv.ActorID != owner.ID ||
			saEv.Details["name"] != "billing-sync" || saEv.Details["client_id"] != sa.ClientID || saEv.Details["overlap"] != "0s" {
			t.Errorf("service_account.secret_rotated = %+v", saEv)
		}
		raw := string(e.Do(http.MethodGet, "/api/v1/audit-events", nil, owner.Bearer()...).Body)
		for _, s := range []string{key.Key, rotated.Key, sa.Secret, newSecret.Secret} {
			if s == "" || strings.Contains(raw, s) || strings.Contains(e.Logs(), s) {
				t.Errorf("a secret (%d bytes) is in the audit log or the logs, or was not issued", len(s))
			}
		}
	})
}
