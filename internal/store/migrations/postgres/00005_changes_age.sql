-- Change-log retention keeps entries younger than a minimum age; finding
-- the newest entry older than that age is an index walk.

-- +goose Up
CREATE INDEX changes_changed_at ON changes (changed_at);

-- +goose Down
DROP INDEX changes_changed_at;
