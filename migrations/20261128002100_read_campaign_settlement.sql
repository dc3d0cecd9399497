-- Emails about a refunded gift say why: the campaign's settlement at its close (appended, so
-- the view's existing columns keep their places).
create or replace view read.campaigns as
    select id, creator_id, title, goal_amount, currency, category, funding_model, status,
           deadline, published_at, goal_reached_at, created_at, featured_at, settlement
    from campaigns;
