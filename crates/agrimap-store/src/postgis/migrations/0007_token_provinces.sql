-- API tokens limited to provinces (their codes, joined by commas; empty for all).
ALTER TABLE agrimap_api_tokens ADD COLUMN IF NOT EXISTS provinces text NOT NULL DEFAULT '';
