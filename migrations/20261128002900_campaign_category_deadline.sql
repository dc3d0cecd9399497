-- A category's campaigns sorted by deadline (the "ending soon" page of a category). The
-- (status, deadline) index alone makes such a page walk every deadline of every category and
-- filter: at a million campaigns, 200,000 rows read for a category with few deadlines (bench).
create index idx_campaign_category_deadline on campaigns (category, status, deadline, id)
    where deadline is not null;
