DROP TABLE call_totals;
