-- expect: truncate
TRUNCATE TABLE `events`;
