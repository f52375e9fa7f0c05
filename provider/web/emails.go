package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/templates"
)

// EmailFlows are the email-link flows (identity.Emails).
type EmailFlows interface {
	ConfirmEmail(ctx context.Context, token string) (*storage.User, error)
	ResendVerification(ctx context.Context, email *string) error
}

// PasswordResets are the password-reset flow (identity.PasswordReset).
type PasswordResets interface {
	Request(ctx context.Context, email *string) error
	Check(ctx context.Context, token string) error
	Confirm(ctx context.Context, token, newPassword *string) error
}

// EmailPages serve the pages a mailed link opens: /verify-email (GET shows a
// button, POST uses the link: a mail scanner that fetches links uses up
// nothing) and /verify-email/resend.
type EmailPages struct {
	p      *Pages
	flows  EmailFlows
	resets PasswordResets
}

// NewEmailPages parses the pages' templates into p.
func NewEmailPages(p *Pages, flows EmailFlows, resets PasswordResets) (*EmailPages, error) {
	for _, name := range []string{"verify_email", "password_reset"} {
		t, err := template.ParseFS(templates.FS, "layout.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return &EmailPages{p: p, flows: flows, resets: resets}, nil
}

// Mount registers the routes.
func (e *EmailPages) Mount(r *mux.Router) {
	r = e.p.limitBodies(r)
	r.HandleFunc("/verify-email", e.verifyForm).Methods(http.MethodGet)
	r.HandleFunc("/verify-email", e.verify).Methods(http.MethodPost)
	r.HandleFunc("/verify-email/resend", e.resend).Methods(http.MethodPost)
	r.HandleFunc("/password-reset", e.resetForm).Methods(http.MethodGet)
	r.HandleFunc("/password-reset", e.resetRequest).Methods(http.MethodPost)
	r.HandleFunc("/password-reset/confirm", e.resetConfirmForm).Methods(http.MethodGet)
	r.HandleFunc("/password-reset/confirm", e.resetConfirm).Methods(http.MethodPost)
}

type verifyPage struct {
	CSRF  string
	State string // confirm, done, sent, invalid, resend-error
	Token string
	Email string
	Error string
}

func (e *EmailPages) verifyForm(w http.ResponseWriter, r *http.Request) {
	data := verifyPage{CSRF: e.p.CSRFToken(w, r), State: "confirm", Token: r.URL.Query().Get("token")}
	status := http.StatusOK
	if data.Token == "" {
		data.State, data.Error, status = "invalid", "This link has no token.", http.StatusBadRequest
	}
	e.p.Render(w, r, status, "verify_email", data)
}

func (e *EmailPages) verify(w http.ResponseWriter, r *http.Request) {
	if !e.p.CheckForm(w, r) {
		return
	}
	data := verifyPage{CSRF: e.p.CSRFToken(w, r)}
	u, err := e.flows.ConfirmEmail(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		he, ok := httpapi.AsError(err)
		if !ok || he.Status >= 500 {
			e.p.unavailable(w, r, err)
			return
		}
		data.State, data.Error = "invalid", fmt.Sprint(he.Detail)
		e.p.Render(w, r, he.Status, "verify_email", data)
		return
	}
	data.State, data.Email = "done", u.Email
	e.p.Render(w, r, http.StatusOK, "verify_email", data)
}

func (e *EmailPages) resend(w http.ResponseWriter, r *http.Request) {
	if !e.p.CheckForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	data := verifyPage{CSRF: e.p.CSRFToken(w, r), State: "sent", Email: email}
	if err := e.flows.ResendVerification(r.Context(), &email); err != nil {
		he, ok := httpapi.AsError(err)
		if !ok || he.Status >= 500 {
			e.p.unavailable(w, r, err)
			return
		}
		if v := he.Headers["Retry-After"]; v != "" {
			w.Header().Set("Retry-After", v)
		}
		data.State, data.Error = "resend-error", detailText(he)
		e.p.Render(w, r, he.Status, "verify_email", data)
		return
	}
	e.p.Render(w, r, http.StatusOK, "verify_email", data)
}

// detailText is an error's detail as one sentence: a validation error's
// first message.
func detailText(he *httpapi.Error) string {
	if issues, ok := he.Detail.([]httpapi.Issue); ok && len(issues) > 0 {
		return "Enter a valid email address."
	}
	if s, ok := he.Detail.(string); ok {
		return s
	}
	return http.StatusText(he.Status)
}

type resetPage struct {
	CSRF  string
	State string // request, sent, confirm, done, invalid
	Email string
	Token string
	Error string
}

func (e *EmailPages) resetForm(w http.ResponseWriter, r *http.Request) {
	e.p.Render(w, r, http.StatusOK, "password_reset", resetPage{CSRF: e.p.CSRFToken(w, r), State: "request"})
}

func (e *EmailPages) resetRequest(w http.ResponseWriter, r *http.Request) {
	if !e.p.CheckForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	data := resetPage{CSRF: e.p.CSRFToken(w, r), State: "sent", Email: email}
	if err := e.resets.Request(r.Context(), &email); err != nil {
		he, ok := httpapi.AsError(err)
		if !ok || he.Status >= 500 {
			e.p.unavailable(w, r, err)
			return
		}
		if v := he.Headers["Retry-After"]; v != "" {
			w.Header().Set("Retry-After", v)
		}
		data.State, data.Error = "request", detailText(he)
		e.p.Render(w, r, he.Status, "password_reset", data)
		return
	}
	e.p.Render(w, r, http.StatusOK, "password_reset", data)
}

// resetConfirmForm shows the new-password form if the link still works;
// opening it uses nothing up.
func (e *EmailPages) resetConfirmForm(w http.ResponseWriter, r *http.Request) {
	data := resetPage{CSRF: e.p.CSRFToken(w, r), State: "confirm", Token: r.URL.Query().Get("token")}
	if err := e.resets.Check(r.Context(), data.Token); err != nil {
		he, ok := httpapi.AsError(err)
		if !ok || he.Status >= 500 {
			e.p.unavailable(w, r, err)
			return
		}
		data.State, data.Error, data.Token = "invalid", detailText(he), ""
		e.p.Render(w, r, he.Status, "password_reset", data)
		return
	}
	e.p.Render(w, r, http.StatusOK, "password_reset", data)
}

func (e *EmailPages) resetConfirm(w http.ResponseWriter, r *http.Request) {
	if !e.p.CheckForm(w, r) {
		return
	}
	token, pw := r.PostForm.Get("token"), r.PostForm.Get("password")
	data := resetPage{CSRF: e.p.CSRFToken(w, r), State: "done"}
	if err := e.resets.Confirm(r.Context(), &token, &pw); err != nil {
		he, ok := httpapi.AsError(err)
		if !ok || he.Status >= 500 {
			e.p.unavailable(w, r, err)
			return
		}
		if issues, ok := he.Detail.([]httpapi.Issue); ok && len(issues) > 0 {
			// The password failed the policy: the link still works.
			data.State, data.Token, data.Error = "confirm", token, issues[0].Msg
		} else {
			data.State, data.Error = "invalid", detailText(he)
		}
		e.p.Render(w, r, he.Status, "password_reset", data)
		return
	}
	e.p.Render(w, r, http.StatusOK, "password_reset", data)
}
