-- Indexes the benchmark and its EXPLAIN test found missing (bench/, api/tests/api/explain.rs).
--
-- The default campaign list (no status filter: every public campaign, newest first) had no
-- index leading with created_at, so each page read and sorted every public campaign. This
-- partial index matches that query's `status <> 'draft'` and gives its order directly, so a
-- page costs the same at 10 thousand or 10 million campaigns.
create index idx_campaign_public_created on campaigns (created_at desc, id desc)
    where status <> 'draft';
