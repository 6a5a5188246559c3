-- expect:
/* outer /* DROP TABLE x; */ still a comment; DROP TABLE y; */
SELECT 1;
