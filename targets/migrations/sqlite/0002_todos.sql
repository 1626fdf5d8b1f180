-- Todo API schema. Ids are UUID text, timestamps RFC 3339 UTC text with microseconds (fixed
-- width, so text order is time order); the service sets both timestamps.
CREATE TABLE todos (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description TEXT,
    completed BOOLEAN NOT NULL DEFAULT FALSE CHECK (completed IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- The list: newest first (id breaks ties), optionally only (not) completed todos; the count
-- by `completed` reads the second index alone.
CREATE INDEX todos_created_idx ON todos (created_at DESC, id DESC);
CREATE INDEX todos_completed_created_idx ON todos (completed, created_at DESC, id DESC);
