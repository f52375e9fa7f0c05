// Package storagetest is the conformance suite of the store interfaces in package
// storage: one exported Test function per interface, which every backend's tests
// call with a constructor of fresh, empty stores. A backend passes when it behaves
// as the interface documents, errors included (compared with errors.Is).
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// The suites need more than the interface under test: every organization-scoped
// row refers to an organization, and organizations are made by registering users.

// OrganizationStores is what TestOrganizationStore needs: members must be users.
type OrganizationStores interface {
	storage.UserStore
	storage.OrganizationStore
}

// APIKeyStores is what TestAPIKeyStore needs: keys belong to organizations.
type APIKeyStores interface {
	storage.UserStore
	storage.APIKeyStore
}

// ServiceAccountStores is what TestServiceAccountStore needs: deleting an
// account revokes its API keys.
type ServiceAccountStores interface {
	storage.UserStore
	storage.APIKeyStore
	storage.ServiceAccountStore
}

// ApplicationStores is what TestApplicationStore needs: applications belong to organizations.
type ApplicationStores interface {
	storage.UserStore
	storage.ApplicationStore
}

// SessionStores is what TestSessionStore needs: a session belongs to a user,
// and the expiry sweep also removes login challenges.
type SessionStores interface {
	storage.UserStore
	storage.SessionStore
	storage.LoginChallengeStore
}

// ConsentGrantStores is what TestConsentGrantStore needs: a grant ties a user
// to an application, deleting it hands back the families recorded by the
// session store, and scope descriptions must be written to be read.
type ConsentGrantStores interface {
	storage.UserStore
	storage.ApplicationStore
	storage.SessionStore
	storage.ConsentGrantStore
	// SetScopeDescription creates or replaces the description of an
	// organization's scope. No store interface writes descriptions yet; the
	// suite needs it to give ScopeDescriptions something to read.
	SetScopeDescription(ctx context.Context, orgID, name, description string) error
}

// newID returns a random id, so cases never depend on one another's rows.
func newID(t *testing.T) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// baseTime is a fixed instant with nanoseconds and a non-UTC zone: stores must
// keep the instant to the microsecond whatever zone the caller used.
func baseTime() time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+7", 7*3600))
}

// newUser returns an unsaved user and its personal organization.
func newUser(t *testing.T, email string) (*storage.User, *storage.Organization) {
	t.Helper()
	at := baseTime()
	u := &storage.User{
		ID:           newID(t),
		Email:        email,
		FullName:     "Test User " + email,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt:    at,
		UpdatedAt:    at.Add(time.Second),
	}
	org := &storage.Organization{
		ID:        newID(t),
		Name:      email + "'s organization",
		Plan:      storage.PlanFree,
		Personal:  true,
		CreatedAt: at,
		UpdatedAt: at,
	}
	return u, org
}

// registerUser registers a new user with a unique email.
func registerUser(t *testing.T, s storage.UserStore) (*storage.User, *storage.Organization) {
	t.Helper()
	u, org := newUser(t, newID(t)+"@example.com")
	if err := s.Register(context.Background(), u, org); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u, org
}

// wantErr fails the test unless err matches want with errors.Is (want nil: no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// micro is t as the stores keep it: to the microsecond, zone dropped.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// microPtr is micro for nullable times.
func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	m := micro(*t)
	return &m
}

// sameTime reports whether a and b are the same instant to the microsecond.
func sameTime(a, b time.Time) bool { return micro(a).Equal(micro(b)) }

// wantEqual fails the test unless got and want are deeply equal once norm has
// put their times in the form stores keep.
func wantEqual[T any](t *testing.T, what string, got, want T, norm func(*T)) {
	t.Helper()
	norm(&got)
	norm(&want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// countNil counts the nil errors in errs and checks every other one is want.
func countNil(t *testing.T, errs []error, want error) int {
	t.Helper()
	ok := 0
	var other []string
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			other = append(other, err.Error())
		}
	}
	if len(other) > 0 {
		t.Fatalf("want only nil or %v, also got: %s", want, strings.Join(other, "; "))
	}
	return ok
}

// race runs fn(0) … fn(n-1) at once and returns their errors, in order.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// wantSet fails the test unless got holds exactly the strings of want, in any
// order (nil and empty are the same set).
func wantSet(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s = %q, want %q (in any order)", what, g, w)
	}
}
