//! The feeds beside the accounts: contacts, deals, activities and regional
//! price lists.
//!
//! Owns the profile's `entities` section ([`Entities`], one optional
//! [`EntityFeed`] per kind), its check, and reading one feed item into a
//! [`Related`] record. The session pulls these feeds after the accounts:
//! a contact, deal or activity is attached to its account when that account
//! is on the device (and counted as skipped otherwise); a price list is kept
//! as it is.
//!
//! Invariant: reading never panics on hostile JSON; every failure is an
//! error naming the field, and an item maps whole or not at all. A
//! canonical field the profile does not map is read from `/<field>`, so a
//! backend that speaks Satchel's own shapes (the reference backend) needs
//! only a path.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mapping::{
    as_text, tombstone_id, transform_int, transform_text, truncate, FieldMap, Transform,
};
use super::profile::{err, pointer_ok, Deletion, Paging, ProfileError};
use crate::fields::{describe, Fields, Part};
use crate::model::{Activity, ActivityKind, Contact, Deal};
use crate::price_lists::{PriceItem, PriceList};

/// The profile's `entities` section: which related feeds the backend has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entities {
    /// People at the customer.
    #[serde(default)]
    pub contacts: Option<EntityFeed>,
    /// The customer's pipeline.
    #[serde(default)]
    pub deals: Option<EntityFeed>,
    /// Calls, visits, notes… kept apart from the account by the backend
    /// (Salesforce Tasks and Events).
    #[serde(default)]
    pub activities: Option<EntityFeed>,
    /// Regional price lists.
    #[serde(default)]
    pub price_lists: Option<EntityFeed>,
}

/// One related feed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityFeed {
    /// Path of the collection under the base URL (`/v1/contacts`).
    pub path: String,
    /// Contacts and deals: pointer to the id of the account the record
    /// belongs to (`/account_id`; HubSpot's association
    /// `/associations/companies/results/0/id`). Required for them.
    #[serde(default)]
    pub account: Option<String>,
    /// How this feed pages, when not as the accounts do (`paging`).
    #[serde(default)]
    pub paging: Option<Paging>,
    /// Canonical field ← pointer and transform, as in the account mapping.
    /// A field left out is read from `/<field>` with its natural transform.
    #[serde(default)]
    pub fields: Vec<FieldMap>,
}

/// The kinds of related feed, in the order a sync pulls them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntityKind {
    /// [`Contact`]s.
    Contacts,
    /// [`Deal`]s.
    Deals,
    /// [`Activity`]s.
    Activities,
    /// [`PriceList`]s.
    PriceLists,
}

impl EntityKind {
    /// Every kind, in pull order.
    pub const ALL: [EntityKind; 4] = [
        EntityKind::Contacts,
        EntityKind::Deals,
        EntityKind::Activities,
        EntityKind::PriceLists,
    ];

    /// The profile's name for it (and the feed's key in the sync state).
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Contacts => "contacts",
            EntityKind::Deals => "deals",
            EntityKind::Activities => "activities",
            EntityKind::PriceLists => "price_lists",
        }
    }

    /// Its canonical fields and their natural transforms.
    fn fields(self) -> &'static [(&'static str, Transform)] {
        use Transform::{Int, Text, UnixSeconds};
        match self {
            EntityKind::Contacts => &[
                ("id", Text),
                ("name", Text),
                ("role", Text),
                ("email", Text),
                ("phone", Text),
                ("updated_at", UnixSeconds),
            ],
            EntityKind::Deals => &[
                ("id", Text),
                ("title", Text),
                ("stage", Text),
                ("value", Int),
                ("currency", Text),
                ("close_date", UnixSeconds),
                ("updated_at", UnixSeconds),
            ],
            EntityKind::Activities => &[
                ("kind", Text),
                ("at", UnixSeconds),
                ("by", Text),
                ("text", Text),
                ("updated_at", UnixSeconds),
            ],
            EntityKind::PriceLists => &[
                ("id", Text),
                ("territory_prefix", Text),
                ("currency", Text),
                ("items", Text),
                ("updated_at", UnixSeconds),
            ],
        }
    }

    /// True for the kinds that belong to an account.
    pub fn per_account(self) -> bool {
        self != EntityKind::PriceLists
    }
}

impl Entities {
    /// The feed of `kind`, if the backend has one.
    pub fn feed(&self, kind: EntityKind) -> Option<&EntityFeed> {
        match kind {
            EntityKind::Contacts => self.contacts.as_ref(),
            EntityKind::Deals => self.deals.as_ref(),
            EntityKind::Activities => self.activities.as_ref(),
            EntityKind::PriceLists => self.price_lists.as_ref(),
        }
    }

    /// Checks every feed (what [`super::profile::Profile::check`] calls).
    pub fn check(&self) -> Result<(), ProfileError> {
        for kind in EntityKind::ALL {
            if let Some(f) = self.feed(kind) {
                f.check(kind, &format!("entities.{}", kind.name()))?;
            }
        }
        Ok(())
    }
}

impl EntityFeed {
    fn check(&self, kind: EntityKind, at: &str) -> Result<(), ProfileError> {
        if !self.path.starts_with('/') {
            return Err(err(&format!("{at}.path"), "must start with `/`"));
        }
        match (&self.account, kind.per_account()) {
            (Some(p), true) => pointer_ok(&format!("{at}.account"), p)?,
            (None, true) => {
                return Err(err(
                    &format!("{at}.account"),
                    "a pointer to the account id is required: the record is kept on its account",
                ))
            }
            (Some(_), false) => {
                return Err(err(
                    &format!("{at}.account"),
                    "price lists belong to territories, not to an account",
                ))
            }
            (None, false) => {}
        }
        if let Some(p) = &self.paging {
            p.check(&format!("{at}.paging"))?;
        }
        for (i, f) in self.fields.iter().enumerate() {
            let here = format!("{at}.fields[{i}]");
            if !kind.fields().iter().any(|(name, _)| *name == f.field) {
                let known: Vec<&str> = kind.fields().iter().map(|(n, _)| *n).collect();
                return Err(err(
                    &format!("{here}.field"),
                    format!(
                        "unknown field {:?}; use one of {}",
                        f.field,
                        known.join(", ")
                    ),
                ));
            }
            pointer_ok(&format!("{here}.from"), &f.from)?;
            if f.transform == Transform::Enum && f.values.is_empty() {
                return Err(err(&format!("{here}.values"), "required for `as: enum`"));
            }
        }
        Ok(())
    }

    /// Every canonical field of `kind` with where it is read from: the
    /// profile's entry, or `/<field>` with its natural transform.
    pub fn field_maps(&self, kind: EntityKind) -> Vec<FieldMap> {
        kind.fields()
            .iter()
            .map(|(name, transform)| {
                self.fields
                    .iter()
                    .find(|f| f.field == *name)
                    .cloned()
                    .unwrap_or_else(|| FieldMap {
                        field: (*name).into(),
                        from: format!("/{name}"),
                        transform: *transform,
                        digits: 0,
                        values: Default::default(),
                        number: false,
                    })
            })
            .collect()
    }
}

/// One related feed item, mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Related {
    /// A contact of account `account`.
    Contact {
        /// The account's id.
        account: String,
        /// The contact.
        contact: Contact,
    },
    /// A deal of account `account`.
    Deal {
        /// The account's id.
        account: String,
        /// The deal.
        deal: Deal,
    },
    /// An activity with account `account`.
    Activity {
        /// The account's id.
        account: String,
        /// The activity.
        activity: Activity,
    },
    /// A price list.
    PriceList(PriceList),
    /// A deleted record.
    Gone {
        /// Its id.
        id: String,
        /// Its account, when the tombstone names it (contacts and deals).
        account: Option<String>,
    },
}

impl Related {
    /// The record's id.
    pub fn id(&self) -> &str {
        match self {
            Related::Contact { contact, .. } => &contact.id,
            Related::Deal { deal, .. } => &deal.id,
            // Activities have no id of their own: they are told apart by
            // their contents.
            Related::Activity { .. } => "",
            Related::PriceList(l) => &l.id,
            Related::Gone { id, .. } => id,
        }
    }
}

/// Reads one item of the `kind` feed: `fields` from
/// [`EntityFeed::field_maps`], `account` the feed's account pointer.
/// Returns the record and its update time, when the backend gives one (the
/// delta of paging styles other than `keyset` starts from it).
pub fn read_related(
    kind: EntityKind,
    fields: &[FieldMap],
    account: Option<&str>,
    deletion: &Deletion,
    item: &Value,
) -> Result<(Related, Option<i64>), String> {
    if !item.is_object() {
        return Err(format!("a record is {}, not an object", describe(item)));
    }
    let id_ptr = fields
        .iter()
        .find(|f| f.field == "id")
        .map_or("/id", |f| f.from.as_str());
    let account_id = match account.map(|p| crate::json::pointer(item, p)) {
        None | Some(None | Some(Value::Null)) => None,
        Some(Some(v)) => Some(as_text(v).map_err(|e| format!("the account id: {e}"))?),
    };
    let updated_at = fields
        .iter()
        .find(|f| f.field == "updated_at")
        .and_then(|f| {
            crate::json::pointer(item, &f.from)
                .filter(|v| !v.is_null())
                .map(|v| (f, v))
        })
        .map(|(f, v)| transform_int(f, v).map_err(|e| format!("field `updated_at`: {e}")))
        .transpose()?;
    if let Some(id) = tombstone_id(deletion, id_ptr, item)? {
        return Ok((
            Related::Gone {
                id,
                account: account_id,
            },
            updated_at,
        ));
    }
    if kind.per_account() && !account_id.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err("no account id".into());
    }
    let account_id = account_id.unwrap_or_default();
    let mut record = match kind {
        EntityKind::Contacts => Related::Contact {
            account: account_id,
            contact: Contact::default(),
        },
        EntityKind::Deals => Related::Deal {
            account: account_id,
            deal: Deal::default(),
        },
        EntityKind::Activities => Related::Activity {
            account: account_id,
            activity: Activity {
                kind: ActivityKind::Note,
                at: 0,
                by: String::new(),
                text: String::new(),
            },
        },
        EntityKind::PriceLists => Related::PriceList(PriceList::default()),
    };
    for f in fields {
        let v = match crate::json::pointer(item, &f.from) {
            None | Some(Value::Null) => continue,
            Some(v) => v,
        };
        set_field(&mut record, f, v)
            .map_err(|e| format!("field `{}` (from `{}`): {e}", f.field, f.from))?;
    }
    match &record {
        Related::Activity { activity, .. } if activity.at == 0 => {
            return Err("an activity without its time (`at`)".into())
        }
        Related::Activity { .. } => {}
        r if r.id().is_empty() => return Err("a record with an empty id".into()),
        _ => {}
    }
    Ok((record, updated_at))
}

fn set_field(r: &mut Related, f: &FieldMap, v: &Value) -> Result<(), String> {
    let text = || transform_text(f, v);
    let int = || transform_int(f, v);
    match (r, f.field.as_str()) {
        (_, "updated_at") => {}
        (Related::Contact { contact: c, .. }, field) => match field {
            "id" => c.id = text()?,
            "name" => c.name = text()?,
            "role" => c.role = text()?,
            "email" => c.email = text()?,
            "phone" => c.phone = text()?,
            _ => {}
        },
        (Related::Deal { deal: d, .. }, field) => match field {
            "id" => d.id = text()?,
            "title" => d.title = text()?,
            "stage" => d.stage = text()?,
            "value" => d.value = int()?,
            "currency" => d.currency = text()?,
            "close_date" => d.close_date = Some(int()?),
            _ => {}
        },
        (Related::Activity { activity: a, .. }, field) => match field {
            "kind" => {
                let k = text()?;
                a.kind = ActivityKind::ALL
                    .into_iter()
                    .find(|x| x.name() == k)
                    .ok_or_else(|| {
                        format!(
                            "{:?} is not call, meeting, visit, note, task or email (map it with `values`)",
                            truncate(&k)
                        )
                    })?
            }
            "at" => a.at = int()?,
            "by" => a.by = text()?,
            "text" => a.text = text()?,
            _ => {}
        },
        (Related::PriceList(l), field) => match field {
            "id" => l.id = text()?,
            "territory_prefix" => l.territory_prefix = text()?,
            "currency" => l.currency = text()?,
            "items" => l.items = price_items(v)?,
            _ => {}
        },
        (Related::Gone { .. }, _) => {}
    }
    Ok(())
}

/// A price list's lines: an array of `{sku, name, unit_price}` (minor units).
fn price_items(v: &Value) -> Result<Vec<PriceItem>, String> {
    let Value::Array(lines) = v else {
        return Err(format!(
            "{} where a list of lines was expected",
            describe(v)
        ));
    };
    lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            let member = |k: &str| line.get(k).filter(|v| !v.is_null());
            let sku = member("sku").map(as_text).transpose()?.unwrap_or_default();
            let name = member("name").map(as_text).transpose()?.unwrap_or_default();
            let unit_price = match member("unit_price") {
                None => 0,
                Some(Value::Number(p)) => p
                    .as_i64()
                    .ok_or_else(|| format!("line {n}: unit price {p} is not a whole number"))?,
                Some(other) => {
                    return Err(format!(
                        "line {n}: unit price is {}, not a number",
                        describe(other)
                    ))
                }
            };
            if sku.is_empty() {
                return Err(format!("line {n} has no sku"));
            }
            Ok(PriceItem {
                sku,
                name,
                unit_price,
            })
        })
        .collect()
}

impl Part for Entities {
    const KEYS: &'static [&'static str] = &["contacts", "deals", "activities", "price_lists"];

    fn read(f: &Fields<'_>) -> Entities {
        Entities {
            contacts: f.part::<EntityFeed>("contacts", true),
            deals: f.part::<EntityFeed>("deals", true),
            activities: f.part::<EntityFeed>("activities", true),
            price_lists: f.part::<EntityFeed>("price_lists", true),
        }
    }
}

impl Part for EntityFeed {
    const KEYS: &'static [&'static str] = &["path", "account", "paging", "fields"];

    fn read(f: &Fields<'_>) -> EntityFeed {
        EntityFeed {
            path: f.string("path"),
            account: f.option("account"),
            paging: f.part::<Paging>("paging", true),
            fields: f.list_of::<FieldMap>("fields"),
        }
    }
}
