-- expect: truncate*2
TRUNCATE a, b RESTART IDENTITY;
