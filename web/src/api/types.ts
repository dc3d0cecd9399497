// Named views of generated types (no hand-written shapes): query parameters and body fields the
// pages fill from form controls. They read as plain strings while the spec has no enums and as
// the enum unions once it does, so the pages cast a select's value to them.
import type { components, paths } from './schema';

type Query<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

export type CampaignQuery = Query<'/api/campaigns'>;
export type CampaignStatusFilter = CampaignQuery['status'];
export type CampaignCategory = CampaignQuery['category'];
export type CampaignSort = CampaignQuery['sort'];
export type AdminLoanStatusFilter = Query<'/api/admin/loans'>['status'];
export type WebhookEvent = NonNullable<components['schemas']['CreateWebhookRequest']['events']>[number];
export type ReportKind = components['schemas']['ReportRequest']['kind'];
export type UserRole = components['schemas']['AdminUserUpdate']['role'];
export type UserTier = components['schemas']['AdminUserUpdate']['tier'];
export type FundingModel = components['schemas']['CreateCampaignRequest']['fundingModel'];
export type Category = components['schemas']['CreateCampaignRequest']['category'];
/** What the events stream sends (the campaign's money figures). */
export type LiveStats = Pick<components['schemas']['CampaignDto'], 'raisedAmount' | 'totalDonors' | 'donationsCount'>;
