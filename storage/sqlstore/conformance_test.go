package sqlstore_test

import (
	"testing"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
	"github.com/arsaka/puguh/storage/storagetest"
)

// TestConformance runs every storagetest suite against every backend: SQLite
// always, PostgreSQL when PUGUH_TEST_DATABASE_URL is set (skipped otherwise).
// Every case opens a fresh database, so the suites run in parallel.
func TestConformance(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T) *sqlstore.Store { return sqltest.Open(t, b) }
			for _, suite := range []struct {
				name string
				run  func(t *testing.T)
			}{
				{"UserStore", func(t *testing.T) {
					storagetest.TestUserStore(t, func(t *testing.T) storage.UserStore { return open(t) })
				}},
				{"OrganizationStore", func(t *testing.T) {
					storagetest.TestOrganizationStore(t, func(t *testing.T) storagetest.OrganizationStores { return open(t) })
				}},
				{"APIKeyStore", func(t *testing.T) {
					storagetest.TestAPIKeyStore(t, func(t *testing.T) storagetest.APIKeyStores { return open(t) })
				}},
				{"ServiceAccountStore", func(t *testing.T) {
					storagetest.TestServiceAccountStore(t, func(t *testing.T) storagetest.ServiceAccountStores { return open(t) })
				}},
				{"CredentialRotation", func(t *testing.T) {
					storagetest.TestCredentialRotation(t, func(t *testing.T) storagetest.ServiceAccountStores { return open(t) })
				}},
				{"ApplicationStore", func(t *testing.T) {
					storagetest.TestApplicationStore(t, func(t *testing.T) storagetest.ApplicationStores { return open(t) })
				}},
				{"SigningKeyStore", func(t *testing.T) {
					storagetest.TestSigningKeyStore(t, func(t *testing.T) storage.SigningKeyStore { return open(t) })
				}},
				{"SessionStore", func(t *testing.T) {
					storagetest.TestSessionStore(t, func(t *testing.T) storagetest.SessionStores { return open(t) })
				}},
				{"LoginChallengeStore", func(t *testing.T) {
					storagetest.TestLoginChallengeStore(t, func(t *testing.T) storage.LoginChallengeStore { return open(t) })
				}},
				{"ConsentGrantStore", func(t *testing.T) {
					storagetest.TestConsentGrantStore(t, func(t *testing.T) storagetest.ConsentGrantStores { return open(t) })
				}},
				{"MFAStore", func(t *testing.T) {
					storagetest.TestMFAStore(t, func(t *testing.T) storagetest.MFAStores { return open(t) })
				}},
				{"AuditStore", func(t *testing.T) {
					storagetest.TestAuditStore(t, func(t *testing.T) storage.AuditStore { return open(t) })
				}},
				{"InvitationStore", func(t *testing.T) {
					storagetest.TestInvitationStore(t, func(t *testing.T) storagetest.InvitationStores { return open(t) })
				}},
				{"FederationStore", func(t *testing.T) {
					storagetest.TestFederationStore(t, func(t *testing.T) storagetest.FederationStores { return open(t) })
				}},
				{"LifecycleStore", func(t *testing.T) {
					storagetest.TestLifecycleStore(t, func(t *testing.T) storagetest.LifecycleStores { return open(t) })
				}},
			} {
				t.Run(suite.name, func(t *testing.T) {
					t.Parallel()
					suite.run(t)
				})
			}
		})
	}
}
