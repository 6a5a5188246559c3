-- expect:
PRAGMA foreign_keys=OFF;
ATTACH DATABASE 'other.db' AS other;
DETACH DATABASE other;
PRAGMA foreign_keys=ON;
