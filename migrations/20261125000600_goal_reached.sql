-- When a campaign's raised amount first reached its goal; set once, so the
-- `campaign.goal_reached` event is recorded once.
alter table campaigns add column goal_reached_at timestamptz;
