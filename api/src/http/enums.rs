//! Closed sets of values the api sends or accepts, as enums in the spec so a generated client
//! can switch on them: statuses, funding models, sorts, kinds, roles, tiers, actions.
//!
//! Responses carry these types, so the compiler checks every value sent. Inputs (query
//! parameters and body fields) are documented with them through [`OneOf`], but still arrive as
//! text: the domain validates them and answers 422 `validation_failed` naming the field, as
//! for every other rule.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An enum with an explicit wire value per variant: `as_str`, `parse` and `ALL`, plus the
/// poem-openapi `Enum` schema.
macro_rules! closed_set {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(poem_openapi::Enum, Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $(#[oai(rename = $value)] $variant),+
        }

        impl $name {
            #[allow(dead_code)]
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value),+
                }
            }

            #[allow(dead_code)]
            pub fn parse(raw: &str) -> Option<Self> {
                match raw {
                    $($value => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl $crate::http::enums::SchemaType for $name {
            const TYPE: &'static str = "string";
        }

        impl $crate::http::enums::ClosedSet for $name {
            fn wire(self) -> &'static str {
                self.as_str()
            }
        }
    };
}

/// The JSON type of a schema that is documented by reference, so a nullable use of it can
/// name the type beside `nullable` (OpenAPI 3.0 ignores `nullable` without a `type`).
pub trait SchemaType {
    const TYPE: &'static str;
}

impl<E: SchemaType> SchemaType for OneOf<E> {
    const TYPE: &'static str = E::TYPE;
}

/// An optional value sent (and accepted) as `null` when absent, for types documented by
/// reference (enums, objects): `{type, nullable: true, allOf: [$ref]}`. Plain types use
/// `Option<T>` with `#[oai(nullable)]` instead.
#[derive(Debug)]
pub struct Nullable<T>(pub Option<T>);

impl<T> Default for Nullable<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T: Type + SchemaType> Type for Nullable<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("Nullable<{}>", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            ty: T::TYPE,
            nullable: true,
            all_of: vec![T::schema_ref()],
            ..MetaSchema::ANY
        }))
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.0.iter().flat_map(|v| v.raw_element_iter()))
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: ParseFromJSON + SchemaType> ParseFromJSON for Nullable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(Self(None)),
            v => T::parse_from_json(v)
                .map(|v| Self(Some(v)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON + SchemaType> ToJSON for Nullable<T> {
    fn to_json(&self) -> Option<Value> {
        match &self.0 {
            Some(v) => v.to_json(),
            None => Some(Value::Null),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(Self)
    }
}

/// What [`closed_set!`] enums share.
pub trait ClosedSet: Type + Copy {
    fn wire(self) -> &'static str;
}

/// A value read from storage that must be one of a closed set. The database's CHECK
/// constraints keep these in the set; should one ever not be, it is logged and reported as the
/// given fallback rather than sent outside the documented set.
pub fn from_db<E: ClosedSet>(raw: &str, parse: fn(&str) -> Option<E>, fallback: E) -> E {
    parse(raw).unwrap_or_else(|| {
        tracing::error!(value = raw, set = %E::name(), "stored value outside its closed set");
        fallback
    })
}

/// Text that should be one of `E`'s values: documented as `E` in the spec, but parsed as
/// text so the domain can refuse anything else with its own 422.
pub struct OneOf<E> {
    pub raw: String,
    _set: PhantomData<E>,
}

impl<E> OneOf<E> {
    pub fn new(raw: String) -> Self {
        Self {
            raw,
            _set: PhantomData,
        }
    }

    pub fn into_inner(self) -> String {
        self.raw
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl<E: Type> Type for OneOf<E> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        E::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        E::schema_ref()
    }

    fn register(registry: &mut Registry) {
        E::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.raw)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.raw))
    }
}

impl<E: Type> ParseFromParameter for OneOf<E> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self::new(value.to_string()))
    }
}

impl<E: Type> ParseFromJSON for OneOf<E> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) => Ok(Self::new(s)),
            _ => Err(ParseError::custom("expected a string")),
        }
    }
}

impl<E: Type> ToJSON for OneOf<E> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.raw.clone()))
    }
}

impl<'de, E> Deserialize<'de> for OneOf<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

closed_set! {
    /// How a closed all_or_nothing campaign ended.
    pub enum Settlement {
        Released = "released",
        Refunded = "refunded",
    }
}

closed_set! {
    /// What a campaign is for.
    pub enum Category {
        Animals = "animals",
        Community = "community",
        Creative = "creative",
        Education = "education",
        Emergency = "emergency",
        Environment = "environment",
        Health = "health",
        Sports = "sports",
        Technology = "technology",
        Other = "other",
    }
}

closed_set! {
    /// Campaign list order; `newest` and `ending_soon` can be followed with `nextCursor`;
    /// `featured` puts featured campaigns first, then newest.
    pub enum CampaignSort {
        Newest = "newest",
        MostRaised = "most_raised",
        EndingSoon = "ending_soon",
        Featured = "featured",
    }
}

// The domain's own enums, documented by reference like the closed sets here.
impl SchemaType for domain::loans::LoanStatus {
    const TYPE: &'static str = "string";
}

impl SchemaType for domain::loans::LoanScore {
    const TYPE: &'static str = "object";
}

impl SchemaType for domain::accounts::Role {
    const TYPE: &'static str = "string";
}

impl SchemaType for domain::accounts::Tier {
    const TYPE: &'static str = "string";
}

closed_set! {
    /// An installment: `paid`, `overdue` (due and not fully paid) or `upcoming`.
    pub enum InstallmentStatus {
        Paid = "paid",
        Overdue = "overdue",
        Upcoming = "upcoming",
    }
}

closed_set! {
    /// What a set of ledger lines (one transaction) records.
    pub enum LedgerKind {
        Deposit = "deposit",
        Donation = "donation",
        Refund = "refund",
        Withdrawal = "withdrawal",
        Release = "release",
        LoanShare = "loan_share",
        LoanDisbursement = "loan_disbursement",
        LoanRepayment = "loan_repayment",
        LoanDistribution = "loan_distribution",
        LoanRefund = "loan_refund",
        ProcessingFee = "processing_fee",
        Payout = "payout",
        PayoutPaid = "payout_paid",
        PayoutReturned = "payout_returned",
    }
}

closed_set! {
    /// `applied`, or `duplicate` (already processed; nothing changed).
    pub enum WebhookAckStatus {
        Applied = "applied",
        Duplicate = "duplicate",
    }
}

closed_set! {
    /// Which audit check found the drift.
    pub enum DriftKind {
        UnbalancedTransaction = "unbalanced_transaction",
        WalletBalance = "wallet_balance",
        CampaignStats = "campaign_stats",
        CampaignAccount = "campaign_account",
        LoanAccount = "loan_account",
        LoanTotals = "loan_totals",
        LedgerDigest = "ledger_digest",
        PayoutsPending = "payouts_pending",
        FeesProcessing = "fees_processing",
    }
}

closed_set! {
    pub enum RecurringAction {
        Pause = "pause",
        Resume = "resume",
        Cancel = "cancel",
    }
}

closed_set! {
    /// The report kinds an admin may request.
    pub enum AdminReportKind {
        DonationsByCampaign = "donations_by_campaign",
        LoanBook = "loan_book",
    }
}

closed_set! {
    /// Events an outgoing webhook can subscribe to.
    pub enum EventKind {
        DonationCreated = "donation.created",
        DonationRefunded = "donation.refunded",
        CampaignGoalReached = "campaign.goal_reached",
        CampaignSettled = "campaign.settled",
        LoanApproved = "loan.approved",
        LoanRejected = "loan.rejected",
        LoanFunded = "loan.funded",
        LoanRepaymentReceived = "loan.repayment_received",
        LoanLate = "loan.late",
        LoanDefaulted = "loan.defaulted",
    }
}

closed_set! {
    /// The worker's queues, one per job kind.
    pub enum JobQueue {
        RecomputeCampaignStats = "recompute_campaign_stats",
        InvalidateCache = "invalidate_cache",
        SendNotification = "send_notification",
        ScoreLoan = "score_loan",
        GenerateReport = "generate_report",
        DispatchWebhooks = "dispatch_webhooks",
        DeliverWebhook = "deliver_webhook",
        NotifyDonors = "notify_donors",
        NotifyLenders = "notify_lenders",
        SendRepaymentDigests = "send_repayment_digests",
        SendDonationDigests = "send_donation_digests",
    }
}

closed_set! {
    pub enum HealthStatus {
        Ok = "ok",
    }
}

closed_set! {
    pub enum DependencyState {
        Up = "up",
        Down = "down",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_sets_equal_the_domains_own() {
        let cats: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(cats, domain::campaigns::model::CATEGORIES);
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, domain::webhooks::EVENT_KINDS);
    }
}
