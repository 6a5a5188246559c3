"""Awkward sample data for round-trip tests: NULLs, unicode, large text and
blobs, sequences/auto-increment, an index, a foreign key, a view, and a
trigger or routine where the engine has them."""

from __future__ import annotations

BLOB = bytes(range(256)) * 64  # every byte value, 16 KiB
LARGE_TEXT = "Ünïcødé ☃ 𝄞 — " * 70_000  # ~1.2 MB
UNICODE = [
    "plain",
    "Ünïcødé",
    "日本語テキスト",
    "emoji 🎉🐘",
    "quote ' \" \\ backslash",
    "",
    None,
    "tab\tnew\nline",
]

SCHEMA = {
    "postgresql": [
        "CREATE TABLE authors (id SERIAL PRIMARY KEY, name TEXT NOT NULL, bio TEXT, photo BYTEA,"
        " joined TIMESTAMPTZ DEFAULT now(), score NUMERIC(12,4), meta JSONB)",
        "CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, author_id INT REFERENCES authors(id) ON DELETE CASCADE,"
        " title VARCHAR(200), body TEXT, published BOOLEAN DEFAULT false)",
        "CREATE INDEX posts_title_idx ON posts (title)",
        "CREATE VIEW published_posts AS SELECT p.id, p.title, a.name FROM posts p JOIN authors a ON a.id = p.author_id"
        " WHERE p.published",
        "CREATE TABLE audit_log (id SERIAL PRIMARY KEY, post_id BIGINT, action TEXT)",
        "CREATE FUNCTION log_post() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO audit_log (post_id, action) VALUES (NEW.id, 'insert; with semicolon'); RETURN NEW; END $$",
        "CREATE TRIGGER posts_audit AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION log_post()",
    ],
    "mysql": [
        "CREATE TABLE authors (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, bio LONGTEXT,"
        " photo LONGBLOB, joined DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), score DECIMAL(12,4), meta JSON)"
        " CHARACTER SET utf8mb4",
        "CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, author_id INT, title VARCHAR(200), body LONGTEXT,"
        " published BOOLEAN DEFAULT false, CONSTRAINT posts_author_fk FOREIGN KEY (author_id) REFERENCES authors(id)"
        " ON DELETE CASCADE) CHARACTER SET utf8mb4",
        "CREATE INDEX posts_title_idx ON posts (title)",
        "CREATE VIEW published_posts AS SELECT p.id, p.title, a.name FROM posts p JOIN authors a ON a.id = p.author_id"
        " WHERE p.published",
        "CREATE TABLE audit_log (id INT AUTO_INCREMENT PRIMARY KEY, post_id BIGINT, action TEXT)",
        "CREATE TRIGGER posts_audit AFTER INSERT ON posts FOR EACH ROW"
        " INSERT INTO audit_log (post_id, action) VALUES (NEW.id, 'insert; with semicolon')",
        "CREATE PROCEDURE count_posts(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM posts; END",
    ],
    "sqlite": [
        "CREATE TABLE authors (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, bio TEXT, photo BLOB,"
        " joined TEXT DEFAULT CURRENT_TIMESTAMP, score REAL, meta TEXT)",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, author_id INTEGER REFERENCES authors(id)"
        " ON DELETE CASCADE, title TEXT, body TEXT, published INTEGER DEFAULT 0)",
        "CREATE INDEX posts_title_idx ON posts (title)",
        "CREATE VIEW published_posts AS SELECT p.id, p.title, a.name FROM posts p JOIN authors a ON a.id = p.author_id"
        " WHERE p.published",
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, post_id INTEGER, action TEXT)",
        "CREATE TRIGGER posts_audit AFTER INSERT ON posts BEGIN"
        " INSERT INTO audit_log (post_id, action) VALUES (NEW.id, 'insert; with semicolon'); END",
    ],
}
PLACEHOLDER = {"postgresql": "%s", "mysql": "%s", "sqlite": "?"}
TABLES = ("authors", "posts", "audit_log")


def load_sample(database) -> None:
    """Create the sample schema and rows in `database` (a tests.support.Database)."""
    db = database.connect()
    try:
        cursor = db.cursor()
        for statement in SCHEMA[database.engine]:
            cursor.execute(statement)
        p = PLACEHOLDER[database.engine]
        for i, name in enumerate(UNICODE):
            cursor.execute(
                f"INSERT INTO authors (name, bio, photo, score, meta) VALUES ({p}, {p}, {p}, {p}, {p})",
                (
                    name or "anonymous",
                    LARGE_TEXT if i == 1 else name,
                    BLOB if i % 2 else None,
                    None if i == 3 else i * 1.25,
                    '{"k": [1, "é"]}' if i % 3 == 0 else None,
                ),
            )
        for i in range(200):
            cursor.execute(
                f"INSERT INTO posts (author_id, title, body, published) VALUES ({p}, {p}, {p}, {p})",
                (
                    1 + i % len(UNICODE),
                    f"post {i} ☃",
                    None if i % 7 == 0 else "body; with; semicolons",
                    i % 2 == 0,
                ),
            )
        cursor.execute("DELETE FROM posts WHERE id % 10 = 3")  # gaps in the sequence
        cursor.close()
    finally:
        db.close()


def table_rows(database, table: str) -> list[tuple]:
    """Every row of `table`, ordered by id, with values normalised for comparison."""
    rows = database.execute(f"SELECT * FROM {table} ORDER BY id")
    return [
        tuple(bytes(v) if isinstance(v, (memoryview, bytearray)) else v for v in row)
        for row in rows
    ]


def snapshot(database) -> dict[str, list[tuple]]:
    """All sample tables' rows."""
    return {table: table_rows(database, table) for table in TABLES}
