-- The org's talk counts answered calls only (a talk figure a provider reports for a call nobody
-- answered is billed, not talk): the kept totals lose the talk of the unanswered calls still
-- stored (a call the retention already removed is not known, and left as counted).
UPDATE call_totals SET talk_s = talk_s - COALESCE((
    SELECT SUM(c.talk_s) FROM calls c
    WHERE c.org_id = call_totals.org_id
      AND substr(c.created_at, 1, 10) = call_totals.day
      AND COALESCE(c.campaign_id, '') = call_totals.campaign_id
      AND c.status = call_totals.status
      AND COALESCE(c.currency, '') = call_totals.currency
      AND c.answered_at IS NULL
), 0);
