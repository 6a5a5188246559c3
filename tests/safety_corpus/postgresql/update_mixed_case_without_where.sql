-- expect: update_without_where
uPdAtE "User" SeT active = TRUE;
