-- expect:
SELECT $tag$ DROP TABLE users; DELETE FROM orders; $tag$ AS text;
