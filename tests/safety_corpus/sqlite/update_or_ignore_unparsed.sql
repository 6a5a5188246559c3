-- expect: update_without_where, unparsed
UPDATE OR IGNORE "Post" SET "slug" = lower("title");
