-- expect: delete_without_where, unparsed
DELETE LOW_PRIORITY QUICK IGNORE FROM `jobs`;
