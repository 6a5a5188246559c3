-- expect: update_without_where
UPDATE a SET total = (SELECT sum(x) FROM c WHERE c.a_id = a.id);
