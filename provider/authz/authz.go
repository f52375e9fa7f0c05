// Package authz maps roles to permission strings. It is the one table the
// handlers and the docs read: a handler names the permission it needs, and a
// principal holds the permissions of its role (or, for an API key, the subset
// its creator gave it).
package authz

import (
	"slices"
	"sort"
)

// Permissions. Each REST handler states which one it needs.
const (
	OrganizationRead   = "organization.read"
	OrganizationUpdate = "organization.update"

	MembersRead   = "organization.members.read"
	MembersCreate = "organization.members.create"
	MembersUpdate = "organization.members.update"
	MembersDelete = "organization.members.delete"

	UsersRead = "iam.users.read"
	// UsersDisable disables and enables users the organization manages
	// (package identity); owners hold it, admins do not.
	UsersDisable = "iam.users.disable"

	APIKeysCreate = "api_keys.create"
	APIKeysRead   = "api_keys.read"
	APIKeysDelete = "api_keys.delete"

	ServiceAccountsCreate = "service_accounts.create"
	ServiceAccountsRead   = "service_accounts.read"
	ServiceAccountsDelete = "service_accounts.delete"

	ApplicationsCreate = "applications.create"
	ApplicationsRead   = "applications.read"
	ApplicationsUpdate = "applications.update"
	ApplicationsDelete = "applications.delete"
	GrantsRead         = "applications.grants.read"
	GrantsDelete       = "applications.grants.delete"

	// AuditRead reads the organization's audit log (package audit); owners
	// and admins hold it.
	AuditRead = "audit.read"
)

// Roles, from most to least powerful.
const (
	Owner  = "owner"
	Admin  = "admin"
	Member = "member"
	Viewer = "viewer"
)

var viewer = []string{OrganizationRead, MembersRead, UsersRead, ApplicationsRead, ServiceAccountsRead}

var member = append(slices.Clone(viewer), APIKeysCreate, APIKeysRead, APIKeysDelete)

var admin = append(slices.Clone(member),
	OrganizationUpdate, MembersCreate, MembersUpdate, MembersDelete,
	ServiceAccountsCreate, ServiceAccountsDelete,
	ApplicationsCreate, ApplicationsUpdate, ApplicationsDelete, GrantsRead, GrantsDelete,
	AuditRead)

var owner = append(slices.Clone(admin), UsersDisable)

// rolePermissions is the whole table. Owners hold an admin's permissions and
// iam.users.disable; what else sets owners apart (the last owner cannot
// leave, only an owner makes another owner) is enforced where memberships
// change.
var rolePermissions = map[string][]string{
	Owner:  owner,
	Admin:  admin,
	Member: member,
	Viewer: viewer,
}

// Roles lists the built-in role names, most powerful first.
func Roles() []string { return []string{Owner, Admin, Member, Viewer} }

// ValidRole reports whether role is a built-in role.
func ValidRole(role string) bool { _, ok := rolePermissions[role]; return ok }

// PermissionsOf returns the sorted permissions of a role (nil for an unknown role).
func PermissionsOf(role string) []string {
	p := slices.Clone(rolePermissions[role])
	sort.Strings(p)
	return p
}

// AllPermissions lists every permission a role can grant, sorted.
func AllPermissions() []string { return PermissionsOf(Owner) }

// Set is a set of permissions held by a principal.
type Set map[string]struct{}

// NewSet builds a set from a list.
func NewSet(perms ...string) Set {
	s := make(Set, len(perms))
	for _, p := range perms {
		s[p] = struct{}{}
	}
	return s
}

// roleSets are the roles' permission sets, built once: a request asks for
// one on every authentication.
var roleSets = func() map[string]Set {
	m := make(map[string]Set, len(rolePermissions))
	for role, perms := range rolePermissions {
		m[role] = NewSet(perms...)
	}
	return m
}()

// empty is the set of an unknown role.
var empty = Set{}

// ForRole is the set of a role's permissions. The set is shared: read it,
// never change it (build a new one with NewSet to narrow or extend it).
func ForRole(role string) Set {
	if s, ok := roleSets[role]; ok {
		return s
	}
	return empty
}

// Has reports whether the set holds p.
func (s Set) Has(p string) bool { _, ok := s[p]; return ok }

// Covers reports whether every permission in want is in s; missing is the first that is not.
func (s Set) Covers(want []string) (missing string, ok bool) {
	for _, p := range want {
		if !s.Has(p) {
			return p, false
		}
	}
	return "", true
}

// Sorted returns the set as a sorted list.
func (s Set) Sorted() []string {
	out := make([]string, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// rank orders the built-in roles; 0 is no role at all.
var rank = map[string]int{Owner: 4, Admin: 3, Member: 2, Viewer: 1}

// Outranks reports whether a holder of role may grant target: nobody grants a
// role more powerful than their own, and only owners make owners.
func Outranks(role, target string) bool {
	if target == Owner {
		return role == Owner
	}
	return rank[role] >= rank[target] && rank[target] > 0
}

// Weaker returns the less powerful of two roles; "" (no role) when either is
// not a built-in role. A credential's rank is the weaker of its own role and
// the role of whoever it acts for, so it never outranks either.
func Weaker(a, b string) string {
	ra, rb := rank[a], rank[b]
	switch {
	case ra == 0 || rb == 0:
		return ""
	case ra <= rb:
		return a
	}
	return b
}

// ImpliedRole is the most powerful role, short of owner, whose every
// permission s holds; "" when s does not even hold a viewer's. It is the rank
// of a credential that was given permissions rather than a role: holding
// every permission of a role is what it takes to hand that role out. Owner is
// never implied, since owners and admins hold the same permissions and only
// an owner makes owners.
func (s Set) ImpliedRole() string {
	for _, role := range []string{Admin, Member, Viewer} {
		if _, ok := s.Covers(rolePermissions[role]); ok {
			return role
		}
	}
	return ""
}

// MayGrant reports whether a credential of rank holding held may give target
// to someone else (a member, a new credential, an invitation) or manage
// someone who has it: rank must outrank target, and held must include every
// permission of target, so nothing is ever handed out that the acting
// credential does not hold itself.
func MayGrant(rank string, held Set, target string) bool {
	if !Outranks(rank, target) {
		return false
	}
	_, ok := held.Covers(rolePermissions[target])
	return ok
}
