-- expect:
UPDATE `website_event` w
JOIN `session` s
ON s.website_id = w.website_id
    and s.session_id = w.session_id
SET w.hostname = s.hostname;
