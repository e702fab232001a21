//! The peers: SQLite (one table, indexed by id, nested parts as JSON text, the
//! way a typical offline app stores a record) and compressed NDJSON.

use std::io::Write;
use std::path::Path;

use rusqlite::{params, Connection};
use satchel_core::model::{Account, Address, Geo};

/// An SQLite file holding the accounts.
pub struct Sqlite {
    conn: Connection,
}

const COLUMNS: &str =
    "id, name, company, email, phone, street, city, postcode, country, lat_e6, lon_e6, \
     territory, owner, stage, deal_value, currency, last_contact, next_visit, updated_at, version, \
     tags, custom, activities";

impl Sqlite {
    pub fn create(path: &Path) -> rusqlite::Result<Sqlite> {
        let _ = std::fs::remove_file(path);
        let conn = Connection::open(path)?;
        // Durability off for the ingest figure: we compare raw insert speed.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE accounts (
               id TEXT PRIMARY KEY, name TEXT, company TEXT, email TEXT, phone TEXT,
               street TEXT, city TEXT, postcode TEXT, country TEXT, lat_e6 INTEGER, lon_e6 INTEGER,
               territory TEXT, owner TEXT, stage TEXT, deal_value INTEGER, currency TEXT,
               last_contact INTEGER, next_visit INTEGER, updated_at INTEGER, version INTEGER,
               tags TEXT, custom TEXT, activities TEXT
             ) WITHOUT ROWID;",
        )?;
        Ok(Sqlite { conn })
    }

    pub fn insert_all(&mut self, accounts: &[Account]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(&format!(
                "INSERT OR REPLACE INTO accounts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
            ))?;
            for a in accounts {
                stmt.execute(params![
                    a.id,
                    a.name,
                    a.company,
                    a.email,
                    a.phone,
                    a.address.street,
                    a.address.city,
                    a.address.postcode,
                    a.address.country,
                    a.geo.map(|g| g.lat_e6),
                    a.geo.map(|g| g.lon_e6),
                    a.territory,
                    a.owner,
                    a.stage,
                    a.deal_value,
                    a.currency,
                    a.last_contact,
                    a.next_visit,
                    a.updated_at,
                    a.version as i64,
                    serde_json::to_string(&a.tags).unwrap(),
                    serde_json::to_string(&a.custom).unwrap(),
                    serde_json::to_string(&a.activities).unwrap(),
                ])?;
            }
        }
        tx.commit()?;
        self.conn.execute_batch("VACUUM;")
    }

    /// Reads one account back into the model, nested parts parsed.
    pub fn get(&self, id: &str) -> rusqlite::Result<Option<Account>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"))?;
        let mut rows = stmt.query([id])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
        let lat: Option<i32> = r.get(9)?;
        let lon: Option<i32> = r.get(10)?;
        Ok(Some(Account {
            id: r.get(0)?,
            name: r.get(1)?,
            company: r.get(2)?,
            email: r.get(3)?,
            phone: r.get(4)?,
            address: Address {
                street: r.get(5)?,
                city: r.get(6)?,
                postcode: r.get(7)?,
                country: r.get(8)?,
            },
            geo: lat.zip(lon).map(|(lat_e6, lon_e6)| Geo { lat_e6, lon_e6 }),
            territory: r.get(11)?,
            owner: r.get(12)?,
            stage: r.get(13)?,
            deal_value: r.get(14)?,
            currency: r.get(15)?,
            last_contact: r.get(16)?,
            next_visit: r.get(17)?,
            updated_at: r.get(18)?,
            version: r.get::<_, i64>(19)? as u64,
            tags: serde_json::from_str(&json(20)?).unwrap_or_default(),
            custom: serde_json::from_str(&json(21)?).unwrap_or_default(),
            activities: serde_json::from_str(&json(22)?).unwrap_or_default(),
            // The benchmark corpus (the generator's accounts) has none.
            contacts: Vec::new(),
            deals: Vec::new(),
        }))
    }
}

/// gzip -9 of `bytes`.
pub fn gzip9(bytes: &[u8]) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap().len()
}

/// zstd -19 of `bytes` (single frame, default window, like the `zstd -19` CLI).
pub fn zstd19(bytes: &[u8]) -> usize {
    zstd::bulk::compress(bytes, 19).unwrap().len()
}

/// A general-purpose compressor at its everyday level, for saving an org as
/// a compressed NDJSON file.
#[derive(Clone, Copy)]
pub enum Codec {
    /// gzip -6 (flate2's default).
    Gzip,
    /// zstd -3 (the CLI's default).
    Zstd,
}

/// Saves `accounts` as compressed NDJSON and loads them back into the
/// model; returns (save, load) seconds. Checks the load gives them all back.
pub fn ndjson_round_trip(accounts: &[Account], codec: Codec) -> (f64, f64) {
    use std::io::Read;
    let t = std::time::Instant::now();
    let mut text = Vec::new();
    for a in accounts {
        serde_json::to_writer(&mut text, a).unwrap();
        text.push(b'\n');
    }
    let packed = match codec {
        Codec::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&text).unwrap();
            enc.finish().unwrap()
        }
        Codec::Zstd => zstd::bulk::compress(&text, 3).unwrap(),
    };
    let save = t.elapsed().as_secs_f64();
    drop(text);
    let t = std::time::Instant::now();
    let text = match codec {
        Codec::Gzip => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        Codec::Zstd => zstd::stream::decode_all(&packed[..]).unwrap(),
    };
    let back: Vec<Account> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let load = t.elapsed().as_secs_f64();
    assert_eq!(back.len(), accounts.len(), "NDJSON round trip lost records");
    (save, load)
}
