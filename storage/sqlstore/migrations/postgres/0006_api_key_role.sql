-- An API key's own role, which bounds what it may hand out (roles of members
-- it adds, of invitations it sends). Empty for keys made before the column
-- existed and for keys given a list of permissions: their rank is then the
-- role their permissions imply (authz.Set.ImpliedRole), never their creator's.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT '';
