package puguh

// route is one REST operation of provider/rest/openapi.yaml.
type route struct {
	method    string
	path      string
	anonymous bool // never sends a credential or X-Organization-ID (register, login, refresh, the email links)
}

// routes holds every operation the SDK calls, by operationId. TestRoutesMatchOpenAPI
// fails when it disagrees with provider/rest/openapi.yaml.
var routes = map[string]route{
	"getHealth": {"GET", "/api/v1/health", false},

	"register":      {"POST", "/api/v1/auth/register", true},
	"login":         {"POST", "/api/v1/auth/login", true},
	"completeLogin": {"POST", "/api/v1/auth/mfa", true},
	"refresh":       {"POST", "/api/v1/auth/refresh", true},
	"logout":        {"POST", "/api/v1/auth/logout", false},

	"verifyEmail":          {"POST", "/api/v1/auth/verify-email", true},
	"resendVerification":   {"POST", "/api/v1/auth/verify-email/resend", true},
	"requestPasswordReset": {"POST", "/api/v1/auth/password-reset", true},
	"confirmPasswordReset": {"POST", "/api/v1/auth/password-reset/confirm", true},

	"listOrganizations":   {"GET", "/api/v1/organizations", false},
	"createOrganization":  {"POST", "/api/v1/organizations", false},
	"getOrganization":     {"GET", "/api/v1/organizations/{id}", false},
	"setOrganizationPlan": {"PATCH", "/api/v1/organizations/{id}/plan", false},
	"listMembers":         {"GET", "/api/v1/organizations/{id}/members", false},
	"addMember":           {"POST", "/api/v1/organizations/{id}/members", false},
	"updateMember":        {"PATCH", "/api/v1/organizations/{id}/members/{user_id}", false},
	"removeMember":        {"DELETE", "/api/v1/organizations/{id}/members/{user_id}", false},

	"listConnections":  {"GET", "/api/v1/organizations/{id}/connections", false},
	"createConnection": {"POST", "/api/v1/organizations/{id}/connections", false},
	"getConnection":    {"GET", "/api/v1/organizations/{id}/connections/{connection_id}", false},
	"updateConnection": {"PATCH", "/api/v1/organizations/{id}/connections/{connection_id}", false},
	"deleteConnection": {"DELETE", "/api/v1/organizations/{id}/connections/{connection_id}", false},

	"listInvitations":  {"GET", "/api/v1/organizations/{id}/invitations", false},
	"createInvitation": {"POST", "/api/v1/organizations/{id}/invitations", false},
	"revokeInvitation": {"DELETE", "/api/v1/organizations/{id}/invitations/{invitation_id}", false},
	"acceptInvitation": {"POST", "/api/v1/invitations/accept", false},
	"changePassword":   {"POST", "/api/v1/iam/users/me/password", false},
	"changeEmail":      {"POST", "/api/v1/iam/users/me/email", false},

	"listUsers":   {"GET", "/api/v1/iam/users", false},
	"getMe":       {"GET", "/api/v1/iam/users/me", false},
	"disableUser": {"POST", "/api/v1/iam/users/{id}/disable", false},
	"enableUser":  {"POST", "/api/v1/iam/users/{id}/enable", false},

	"deleteUser":      {"DELETE", "/api/v1/iam/users/{id}", false},
	"deleteMe":        {"DELETE", "/api/v1/users/me", false},
	"listMyConsents":  {"GET", "/api/v1/users/me/consents", false},
	"revokeMyConsent": {"DELETE", "/api/v1/users/me/consents/{application_id}", false},

	"listAPIKeys":  {"GET", "/api/v1/api-keys", false},
	"createAPIKey": {"POST", "/api/v1/api-keys", false},
	"revokeAPIKey": {"DELETE", "/api/v1/api-keys/{id}", false},
	"rotateAPIKey": {"POST", "/api/v1/api-keys/{id}/rotate", false},

	"listServiceAccounts":        {"GET", "/api/v1/service-accounts", false},
	"createServiceAccount":       {"POST", "/api/v1/service-accounts", false},
	"getServiceAccount":          {"GET", "/api/v1/service-accounts/{id}", false},
	"deleteServiceAccount":       {"DELETE", "/api/v1/service-accounts/{id}", false},
	"createServiceAccountAPIKey": {"POST", "/api/v1/service-accounts/{id}/api-keys", false},
	"rotateServiceAccountSecret": {"POST", "/api/v1/service-accounts/{id}/rotate-secret", false},

	"listApplications":        {"GET", "/api/v1/applications", false},
	"createApplication":       {"POST", "/api/v1/applications", false},
	"getApplication":          {"GET", "/api/v1/applications/{id}", false},
	"updateApplication":       {"PATCH", "/api/v1/applications/{id}", false},
	"deleteApplication":       {"DELETE", "/api/v1/applications/{id}", false},
	"rotateApplicationSecret": {"POST", "/api/v1/applications/{id}/secret", false},
	"listGrants":              {"GET", "/api/v1/applications/grants", false},
	"revokeGrant":             {"DELETE", "/api/v1/applications/grants/{user_id}", false},
	"listAuditEvents":         {"GET", "/api/v1/audit-events", false},

	"beginLoginEnrollment":    {"POST", "/api/v1/auth/mfa/enroll", true},
	"completeLoginEnrollment": {"POST", "/api/v1/auth/mfa/enroll/confirm", true},
	"getMfaStatus":            {"GET", "/api/v1/users/me/mfa", false},
	"beginTotpEnrollment":     {"POST", "/api/v1/users/me/mfa/totp", false},
	"confirmTotpEnrollment":   {"POST", "/api/v1/users/me/mfa/totp/confirm", false},
	"removeTotp":              {"DELETE", "/api/v1/users/me/mfa/totp", false},
	"getMfaPolicy":            {"GET", "/api/v1/organizations/{id}/mfa-policy", false},
	"setMfaPolicy":            {"PUT", "/api/v1/organizations/{id}/mfa-policy", false},
}
