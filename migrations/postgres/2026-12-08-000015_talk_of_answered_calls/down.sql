-- The talk taken out is not put back: the totals stay counted as answered calls' talk.
SELECT 1;
