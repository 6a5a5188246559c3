-- expect: drop_materialized_view*2
DROP MATERIALIZED VIEW monthly_revenue;
DROP MATERIALIZED VIEW IF EXISTS reporting.top_customers CASCADE;
