-- expect: drop_sequence
DROP SEQUENCE IF EXISTS invoice_seq;
