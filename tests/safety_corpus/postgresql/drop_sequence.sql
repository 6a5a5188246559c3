-- expect: drop_sequence*3
DROP SEQUENCE invoice_number_seq;
DROP SEQUENCE IF EXISTS a_seq, b_seq CASCADE;
