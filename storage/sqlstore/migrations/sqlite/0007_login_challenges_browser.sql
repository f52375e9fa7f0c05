-- /oauth/authorize keeps a bounded number of pending challenges per browser:
-- after storing one it deletes that browser's oldest beyond the bound, which
-- reads the browser's challenges by age.
CREATE INDEX IF NOT EXISTS login_challenges_browser_idx ON login_challenges (browser, requested_at);
