-- expect:
REINDEX "User_email_key";
