-- expect: update_without_where
CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = 0; END;
