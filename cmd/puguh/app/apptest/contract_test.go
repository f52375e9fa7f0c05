package apptest

import (
	"net/http"
	"strings"
	"testing"
)

// TestContractRejects: the contract check fails an exchange whose status is
// undocumented, whose body breaks the schema (a missing or unknown key) or
// that lacks a required header, and passes a conforming one.
func TestContractRejects(t *testing.T) {
	e := Start(t, Options{})
	c := e.LoadContract()
	u := e.NewUser()
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/iam/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+u.AccessToken)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	good := `{"id":"` + u.ID + `","type":"user","email":"` + u.Email + `","full_name":"Test User","organization_id":"` +
		u.OrganizationID + `","role":"owner","permissions":[],"created_at":"2026-01-01T00:00:00Z"}`
	header := resp.Header.Clone()
	header.Set("Content-Type", "application/json")
	if err := c.Check(req, http.StatusOK, header, []byte(good)); err != nil {
		t.Fatalf("a conforming answer was refused: %v", err)
	}
	noRate := header.Clone()
	noRate.Del("X-RateLimit-Remaining")
	for name, tc := range map[string]struct {
		status int
		header http.Header
		body   string
		want   string
	}{
		"undocumented status": {http.StatusTeapot, header, `{"detail":"x"}`, "status is not supported"},
		"unknown key":         {http.StatusOK, header, strings.Replace(good, `"type"`, `"extra":1,"type"`, 1), "extra"},
		"missing key":         {http.StatusOK, header, strings.Replace(good, `"type":"user",`, ``, 1), "type"},
		"wrong error shape":   {http.StatusUnprocessableEntity, header, `{"detail":"not a list"}`, "detail"},
		"missing header":      {http.StatusOK, noRate, good, "X-RateLimit-Remaining"},
	} {
		err := c.Check(req, tc.status, tc.header, []byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, tc.want)
		}
	}
	// An unknown path is no operation's: nothing to check.
	other, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/nothing-here", nil)
	if err := c.Check(other, http.StatusNotFound, header, []byte(`{"detail":"Not Found"}`)); err != nil {
		t.Errorf("unknown path: %v", err)
	}
}
