//! PDF files people can file: a donation's receipt and a donor's yearly giving statement. A4
//! pages drawn with printpdf and the built-in Helvetica faces (WinAnsi text: no font files, no
//! layout engine); columns are placed at fixed offsets and a new page starts when one is full,
//! so a file's size grows with its lines and nothing else is held.

use chrono::{DateTime, NaiveDate, Utc};
use printpdf::{
    BuiltinFont, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, TextItem,
};
use uuid::Uuid;

/// The platform as it appears at the top of every file.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub name: String,
    pub address: String,
}

/// What a donation's receipt says.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub donation_id: Uuid,
    pub donor_name: String,
    pub campaign_title: String,
    pub amount: i64,
    pub currency: String,
    pub made_at: DateTime<Utc>,
    /// Set when the gift was refunded: the receipt then says so.
    pub refunded_at: Option<DateTime<Utc>>,
}

/// One line of a giving statement.
#[derive(Debug, Clone)]
pub struct Gift {
    pub donation_id: Uuid,
    pub made_at: DateTime<Utc>,
    pub campaign_title: String,
    pub amount: i64,
    pub currency: String,
}

/// A donor's standing gifts in a calendar year.
#[derive(Debug, Clone)]
pub struct Statement {
    pub donor_name: String,
    pub year: i32,
    pub gifts: Vec<Gift>,
    pub currency: String,
    pub issued_on: NaiveDate,
}

/// The receipt number: `CP-<year made>-<last 12 hex digits of the donation id>`, upper case.
/// Stable (derived from the donation, nothing stored) and unique in practice: donation ids are
/// UUIDv7, whose leading digits are a timestamp shared by gifts made close together, while the
/// last 12 are random (48 bits).
pub fn receipt_number(donation_id: Uuid, made_at: DateTime<Utc>) -> String {
    let hex = donation_id.simple().to_string().to_uppercase();
    let tail = hex.get(hex.len() - 12..).unwrap_or(&hex);
    format!("CP-{}-{tail}", made_at.format("%Y"))
}

/// Minor units with the currency's decimals, thousands grouped, then the code:
/// `123456, "USD"` → `1,234.56 USD`; `5000, "JPY"` → `5,000 JPY`.
pub fn money(minor: i64, currency: &str) -> String {
    let code = currency.trim().to_uppercase();
    let places = minor_digits(&code);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let unit = 10u64.pow(places);
    let major = group_thousands(abs / unit);
    if places == 0 {
        format!("{sign}{major} {code}")
    } else {
        let width = places as usize;
        format!("{sign}{major}.{:0width$} {code}", abs % unit)
    }
}

/// ISO 4217 minor-unit digits: most currencies have two.
fn minor_digits(code: &str) -> u32 {
    match code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The receipt: one page.
pub fn receipt(issuer: &Issuer, r: &Receipt) -> Vec<u8> {
    let number = receipt_number(r.donation_id, r.made_at);
    let mut sheet = Sheet::new(issuer, "Donation receipt");
    if let Some(at) = r.refunded_at {
        sheet.text(LEFT, &format!("REFUNDED on {} (UTC)", date(at)), BOLD, 14.0);
        sheet.text(
            LEFT,
            "This gift was returned to the donor; it is not a gift for the year's giving.",
            REGULAR,
            10.0,
        );
        sheet.gap(4.0);
    }
    let rows = [
        ("Receipt number", number.clone()),
        ("Donor", r.donor_name.clone()),
        ("Campaign", r.campaign_title.clone()),
        ("Amount", money(r.amount, &r.currency)),
        (
            "Date",
            format!("{} (UTC)", r.made_at.format("%Y-%m-%d %H:%M")),
        ),
        ("Donation reference", r.donation_id.to_string()),
    ];
    for (label, value) in rows {
        sheet.row(
            &[(LEFT, label, BOLD), (VALUE_COLUMN, &value, REGULAR)],
            11.0,
        );
    }
    sheet.gap(6.0);
    sheet.text(
        LEFT,
        &format!("Thank you for your gift. Keep this receipt ({number}) for your records."),
        REGULAR,
        10.0,
    );
    sheet.finish(&format!("Receipt {number}"))
}

/// The statement: the year's gifts (date, campaign, receipt number, amount) and their total,
/// over as many pages as they take.
pub fn statement(issuer: &Issuer, s: &Statement) -> Vec<u8> {
    let title = format!("Giving statement {}", s.year);
    let mut sheet = Sheet::new(issuer, &title);
    sheet.row(
        &[
            (LEFT, "Donor", BOLD),
            (VALUE_COLUMN, &s.donor_name, REGULAR),
        ],
        11.0,
    );
    let issued = s.issued_on.to_string();
    sheet.row(
        &[(LEFT, "Issued", BOLD), (VALUE_COLUMN, &issued, REGULAR)],
        11.0,
    );
    sheet.gap(4.0);
    let header = [
        (LEFT, "Date", BOLD),
        (CAMPAIGN_COLUMN, "Campaign", BOLD),
        (RECEIPT_COLUMN, "Receipt", BOLD),
        (AMOUNT_COLUMN, "Amount", BOLD),
    ];
    sheet.row(&header, 10.0);
    sheet.rule();
    if s.gifts.is_empty() {
        sheet.text(LEFT, "No gifts in this year.", REGULAR, 10.0);
    }
    let mut total: i64 = 0;
    for g in &s.gifts {
        total = total.saturating_add(g.amount);
        let cells = [
            date(g.made_at),
            clip(&g.campaign_title, 42),
            receipt_number(g.donation_id, g.made_at),
            money(g.amount, &g.currency),
        ];
        sheet.row(
            &[
                (LEFT, &cells[0], REGULAR),
                (CAMPAIGN_COLUMN, &cells[1], REGULAR),
                (RECEIPT_COLUMN, &cells[2], REGULAR),
                (AMOUNT_COLUMN, &cells[3], REGULAR),
            ],
            10.0,
        );
    }
    sheet.rule();
    let total = money(total, &s.currency);
    let count = format!("Total of {} gifts", s.gifts.len());
    sheet.row(&[(LEFT, &count, BOLD), (AMOUNT_COLUMN, &total, BOLD)], 11.0);
    sheet.gap(6.0);
    sheet.text(
        LEFT,
        "Refunded gifts are not listed. Amounts are in minor-unit precision as charged.",
        REGULAR,
        9.0,
    );
    sheet.finish(&title)
}

/// At most `max` characters, with an ellipsis when cut (a column is only so wide).
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 3).collect();
        cut.push_str("...");
        cut
    }
}

const REGULAR: BuiltinFont = BuiltinFont::Helvetica;
const BOLD: BuiltinFont = BuiltinFont::HelveticaBold;
const PAGE_WIDTH: f32 = 210.0;
const PAGE_HEIGHT: f32 = 297.0;
const TOP: f32 = 275.0;
const BOTTOM: f32 = 20.0;
const LEFT: f32 = 20.0;
const RIGHT: f32 = 190.0;
const VALUE_COLUMN: f32 = 70.0;
const CAMPAIGN_COLUMN: f32 = 45.0;
const RECEIPT_COLUMN: f32 = 122.0;
const AMOUNT_COLUMN: f32 = 160.0;

/// Pages being written top to bottom; `y` is the next baseline in millimetres from the bottom.
struct Sheet {
    pages: Vec<PdfPage>,
    ops: Vec<Op>,
    y: f32,
    header: String,
}

impl Sheet {
    fn new(issuer: &Issuer, title: &str) -> Self {
        let mut sheet = Self {
            pages: Vec::new(),
            ops: Vec::new(),
            y: TOP,
            header: format!("{} - {title}", issuer.name),
        };
        sheet.text(LEFT, &issuer.name, BOLD, 18.0);
        sheet.text(LEFT, &issuer.address, REGULAR, 10.0);
        sheet.gap(4.0);
        sheet.text(LEFT, title, BOLD, 15.0);
        sheet.rule();
        sheet.gap(2.0);
        sheet
    }

    /// One line of cells at the given x offsets (mm), starting a new page when this one is full.
    fn row(&mut self, cells: &[(f32, &str, BuiltinFont)], size: f32) {
        let height = size * 0.5 + 2.0;
        if self.y - height < BOTTOM {
            self.new_page();
        }
        self.y -= height;
        for &(x, text, font) in cells {
            self.ops.extend([
                // Each cell its own text object: `Td` moves relative to the line it is in.
                Op::StartTextSection,
                Op::SetFont {
                    font: PdfFontHandle::Builtin(font),
                    size: Pt(size),
                },
                Op::SetTextCursor {
                    pos: Point::new(Mm(x), Mm(self.y)),
                },
                Op::ShowText {
                    items: vec![TextItem::Text(text.to_string())],
                },
                Op::EndTextSection,
            ]);
        }
    }

    fn text(&mut self, x: f32, text: &str, font: BuiltinFont, size: f32) {
        self.row(&[(x, text, font)], size);
    }

    fn gap(&mut self, mm: f32) {
        self.y -= mm;
    }

    /// A thin horizontal line under what was written last.
    fn rule(&mut self) {
        self.y -= 2.0;
        let at = |x: f32| LinePoint {
            p: Point::new(Mm(x), Mm(self.y)),
            bezier: false,
        };
        let line = Line {
            points: vec![at(LEFT), at(RIGHT)],
            is_closed: false,
        };
        self.ops.extend([
            Op::SetOutlineThickness { pt: Pt(0.5) },
            Op::DrawLine { line },
        ]);
    }

    fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages
            .push(PdfPage::new(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), ops));
        self.y = TOP;
        let header = self.header.clone();
        self.text(LEFT, &format!("{header} (continued)"), REGULAR, 9.0);
        self.gap(3.0);
    }

    fn finish(mut self, title: &str) -> Vec<u8> {
        let ops = std::mem::take(&mut self.ops);
        self.pages
            .push(PdfPage::new(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), ops));
        let mut doc = PdfDocument::new(title);
        let mut warnings = Vec::new();
        let bytes = doc
            .with_pages(self.pages)
            .save(&PdfSaveOptions::default(), &mut warnings);
        if !warnings.is_empty() {
            tracing::debug!(?warnings, "pdf warnings");
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn money_is_formatted_from_minor_units_with_the_currency() {
        assert_eq!(money(0, "USD"), "0.00 USD");
        assert_eq!(money(5, "USD"), "0.05 USD");
        assert_eq!(money(123_456, "usd"), "1,234.56 USD");
        assert_eq!(money(100_000_000, "EUR"), "1,000,000.00 EUR");
        assert_eq!(money(-250, "USD"), "-2.50 USD");
        assert_eq!(money(5_000, "JPY"), "5,000 JPY");
        assert_eq!(money(1_234, "KWD"), "1.234 KWD");
        assert_eq!(money(i64::MIN, "USD"), "-92,233,720,368,547,758.08 USD");
    }

    #[test]
    fn the_receipt_number_is_the_year_and_the_random_end_of_the_id() {
        let id: Uuid = "019a7f3e-8c2d-7b41-9a10-0f1e2d3c4b5a"
            .parse()
            .expect("uuid");
        assert_eq!(
            receipt_number(id, at("2026-03-04T05:06:07Z")),
            "CP-2026-0F1E2D3C4B5A"
        );
    }

    #[test]
    fn long_titles_are_cut_with_an_ellipsis() {
        assert_eq!(clip("Clean water", 42), "Clean water");
        assert_eq!(clip("abcdefghij", 6), "abc...");
    }

    #[test]
    fn a_page_that_is_full_continues_on_the_next() {
        let issuer = Issuer {
            name: "Commonpot".into(),
            address: "1 Commons Square".into(),
        };
        let mut sheet = Sheet::new(&issuer, "Giving statement 2026");
        for _ in 0..200 {
            sheet.text(LEFT, "a gift", REGULAR, 10.0);
        }
        assert_eq!(sheet.pages.len(), 5);
        assert!(sheet.finish("t").starts_with(b"%PDF-"));
    }
}
