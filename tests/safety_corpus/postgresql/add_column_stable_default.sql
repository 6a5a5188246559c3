-- expect:
ALTER TABLE events ADD COLUMN seen_at timestamptz DEFAULT now();
