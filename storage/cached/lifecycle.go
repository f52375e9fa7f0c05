package cached

import (
	"context"
	"encoding/hex"
)

// DeleteUser erases the user and the organizations in deleteOrgs, then
// invalidates everything that went with them: the user, their memberships,
// the deleted organizations and their applications, service accounts and
// API keys. What to invalidate is read before the deletion.
func (s *Store) DeleteUser(ctx context.Context, userID string, deleteOrgs []string) error {
	orgs, err := s.Store.OrganizationsOfUser(ctx, userID)
	if err != nil {
		return err
	}
	var memberships, apps, saIDs, saClients, keys []string
	for _, o := range orgs {
		memberships = append(memberships, pair(o.ID, userID))
	}
	for _, org := range deleteOrgs {
		list, err := s.Store.ListApplications(ctx, org)
		if err != nil {
			return err
		}
		for _, a := range list {
			apps = append(apps, a.ID)
		}
		accounts, err := s.Store.ListServiceAccounts(ctx, org)
		if err != nil {
			return err
		}
		for _, sa := range accounts {
			saIDs = append(saIDs, pair(org, sa.ID))
			saClients = append(saClients, sa.ClientID)
		}
		ks, err := s.Store.ListAPIKeys(ctx, org)
		if err != nil {
			return err
		}
		for _, k := range ks {
			keys = append(keys, hex.EncodeToString(k.Hash))
		}
	}
	defer func() {
		s.users.Invalidate(ctx, userID)
		s.memberships.Invalidate(ctx, memberships...)
		s.organizations.Invalidate(ctx, deleteOrgs...)
		s.applications.Invalidate(ctx, apps...)
		s.accountsByID.Invalidate(ctx, saIDs...)
		s.accountsByCID.Invalidate(ctx, saClients...)
		s.apiKeys.Invalidate(ctx, keys...)
	}()
	return s.Store.DeleteUser(ctx, userID, deleteOrgs)
}
