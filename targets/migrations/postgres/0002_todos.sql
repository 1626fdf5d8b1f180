-- Todo API schema; the service sets both timestamps (the defaults serve manual inserts).
CREATE TABLE todos (
    id UUID PRIMARY KEY,
    title VARCHAR(200) NOT NULL CHECK (char_length(title) > 0),
    description TEXT,
    completed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The list: newest first (id breaks ties), optionally only (not) completed todos; the count
-- by `completed` reads the second index alone.
CREATE INDEX todos_created_idx ON todos (created_at DESC, id DESC);
CREATE INDEX todos_completed_created_idx ON todos (completed, created_at DESC, id DESC);
