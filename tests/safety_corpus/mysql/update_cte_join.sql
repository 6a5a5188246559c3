-- expect:
WITH x AS (SELECT id FROM a WHERE flag = 1) UPDATE b JOIN x ON b.id = x.id SET b.flag = 1;
