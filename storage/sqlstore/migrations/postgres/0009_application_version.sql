-- A version number per application, raised by every update. An update names
-- the version it read and applies only to that version (compare-and-swap),
-- so two administrators changing one application at once, or a replica
-- working from a cached copy, cannot silently undo each other's change.
ALTER TABLE applications ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
