/** What a store is opened with. */
export interface StoreOptions {
  /** The byte ceiling: bytes, or a size like `"40MiB"`. At most 40 MiB (5/8 of
   * the module's 64 MiB memory cap, the rest being for stack and transient
   * buffers); more is an `INVALID_ARGUMENT` error. Stores open at once share
   * the module: keep their budgets' sum within that too. */
  budget: number | string;
  /** Uncompressed bytes gathered before they become a compressed block (default 32768; core's native default is 131072: denser, slower to read one record). */
  blockBytes?: number;
  /** Inflated blocks cached for reads (default 4). */
  cacheBlocks?: number;
  /** Keep journal frames for `takeJournal()` (default true). */
  journal?: boolean;
}

/** Canonical account (the NDJSON shape; times in Unix seconds, money in minor units). */
export interface Account {
  id: string;
  name: string;
  company: string;
  email: string;
  phone: string;
  address: { street: string; city: string; postcode: string; country: string };
  geo: { lat_e6: number; lon_e6: number } | null;
  territory: string;
  owner: string;
  stage: string;
  deal_value: number;
  currency: string;
  last_contact: number | null;
  next_visit: number | null;
  updated_at: number;
  version: number;
  tags: string[];
  custom: Record<string, CustomValue>;
  activities: Activity[];
  /** People at the customer; absent when there are none. */
  contacts?: Contact[];
  /** The customer's deals; absent when there are none. */
  deals?: Deal[];
}

/** A person at the customer's company. */
export interface Contact {
  id: string;
  name: string;
  role: string;
  email: string;
  phone: string;
}

/** A deal in the customer's pipeline (value in minor units of currency). */
export interface Deal {
  id: string;
  title: string;
  stage: string;
  value: number;
  currency: string;
  close_date: number | null;
}

/** A regional price list: covers the territories under `territory_prefix`. */
export interface PriceList {
  id: string;
  territory_prefix: string;
  currency: string;
  items: PriceItem[];
  updated_at: number;
}

/** One line of a price list (unit price in minor units). */
export interface PriceItem {
  sku: string;
  name: string;
  unit_price: number;
}

/** A typed custom field value. */
export type CustomValue =
  | { text: string }
  | { int: number }
  | { decimal: { value: number; scale: number } }
  | { money: { minor: number; currency: string } }
  | { date: number }
  | { bool: boolean }
  | { enum: string };

/** One logged activity. */
export interface Activity {
  kind: "call" | "meeting" | "visit" | "note" | "task" | "email";
  at: number;
  by: string;
  text: string;
}

/** A rule set (see the README of satchel for conditions). */
export interface RuleSet {
  rules: Array<{
    name: string;
    weight: number;
    when: Record<string, unknown>;
    half_life_days?: number;
    quota?: number;
  }>;
}

/** Who the device belongs to. Without `now`, every call ranks at the clock's time. */
export interface RankContextInit {
  me: string;
  territories?: string[];
  now?: number;
}

/** How the rep used a record. */
export type UseKind = "open" | "search" | "edit";

export interface RetainOptions {
  /** Most of the room stubs may take, percent (default 20). */
  stubSharePercent?: number;
  /** Plan for this many bytes instead of the whole budget. */
  targetBytes?: number;
}

export interface IngestOptions {
  /** Most of the room stubs may take in a plan, percent (default 20). */
  stubSharePercent?: number;
  /** When the budget refuses a record, retain to this share of the record
   * bytes held, percent (20–99, default 90). */
  retainPercent?: number;
}

export interface IngestReport {
  /** Non-blank lines seen. */
  lines: number;
  inserted: number;
  updated: number;
  /** Records the budget refused even after making room (or with no rules set). */
  refusedBudget: number;
  /** Records refused by core's limits (empty id, too large, …). */
  refusedInvalid: number;
  /** Lines that are not UTF-8 or not a canonical account. */
  badLines: number;
  /** Plans run to make room. */
  retains: number;
  /** Records those plans evicted. */
  evicted: number;
  /** Highest plan cut-off score (`null` until a plan ran). */
  cutoff: number | null;
  /** Bytes of a partial line waiting for the next chunk. */
  pendingBytes: number;
  /** The first 20 problems, with their line numbers. */
  errors: Array<{ line: number; code: SatchelErrorCode; message: string }>;
}

export interface BatchReport { inserted: number; updated: number }

export interface LoadReport {
  /** Journal operations replayed on top of the snapshot. */
  replayed: number;
  /** Bytes of a torn last journal frame that were skipped. */
  tornTailBytes: number;
}

export interface Stats {
  records: number;
  stubs: number;
  blocks: number;
  deadRows: number;
  hotRecords: number;
  budget: number;
  usedBytes: number;
  rawBlockBytes: number;
  bytes: {
    blocks: number; hot: number; index: number; cache: number;
    journal: number; dictionary: number; stubs: number; retention: number;
    search: number; outbox: number; priceLists: number;
  };
}

export interface PlanSummary {
  kept: number;
  stubbed: number;
  dropped: number;
  keptBytes: number;
  stubBytes: number;
  /** Pinned (or edited) records kept whatever their score. */
  forced: number;
  cutoffScore: number;
  lowestKeptScore: number | null;
  forcedOverBudget: number;
}

export interface Explanation {
  id: string;
  state: "kept" | "stub" | "absent";
  score: number;
  pinned: boolean;
  rules: Array<{ rule: string; points: number; why: string }>;
  cutoff: number | null;
}

export interface Stub { id: string; name: string; score: number }

/** The stable `code` of every error the package throws. */
export type SatchelErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_BUDGET"
  | "INVALID_RECORD"
  | "INVALID_RULES"
  | "NOT_CONFIGURED"
  | "BUDGET_EXCEEDED"
  | "EMPTY_ID"
  | "ID_TOO_LONG"
  | "RECORD_TOO_LARGE"
  | "STORE_FULL"
  | "SNAPSHOT_CORRUPT"
  | "JOURNAL_CORRUPT"
  | "WRITE_REFUSED"
  | "INVALID_QUERY"
  | "SEARCH_UNAVAILABLE"
  | "INVALID_EDIT"
  | "NOT_ON_DEVICE"
  | "SEAL_INVALID"
  | "SEAL_TAMPERED"
  | "WRONG_PIN"
  | "INVALID_PROFILE"
  | "INVALID_SYNC_STATE"
  | "AUTH_REQUIRED"
  | "WIPE_REQUIRED"
  | "SYNC_MALFORMED"
  | "SYNC_ENDLESS"
  | "SYNC_HTTP"
  | "SYNC_FAILED"
  | "SYNC_ABORTED"
  | "NO_SUCH_CONFLICT";

/** Every error thrown by the package. */
export interface SatchelError extends Error {
  name: "SatchelError";
  code: SatchelErrorCode;
  /** BUDGET_EXCEEDED: bytes the operation needed and bytes left. */
  needed?: number;
  available?: number;
  /** INVALID_RULES: the rule at fault. */
  rule?: string;
  /** NDJSON problems: the line number. */
  line?: number;
  /** NOT_ON_DEVICE: the account's id. */
  id?: string;
  /** INVALID_PROFILE: the profile field at fault (`paging.next`). */
  field?: string;
  /** AUTH_REQUIRED, SYNC_HTTP: the HTTP status (0: no response). */
  status?: number;
  /** SYNC_MALFORMED, SYNC_ENDLESS: the request's URL. */
  url?: string;
  /** NO_SUCH_CONFLICT: the outbox edit asked for. */
  seq?: number;
}

/** A window of whole UTC days, Unix seconds. */
export interface Window { from: number; to: number }

/** A search: text and filters (any of each list), as core's `Query`. */
export interface SearchQuery {
  text?: string;
  territory?: string[];
  owner?: string[];
  stage?: string[];
  tag?: string[];
  next_visit?: Window | null;
  last_contact?: Window | null;
  /** 1–1000; 0 or absent = 20. */
  limit?: number;
}

/** One search hit, best first. Spans are `[start, end)` UTF-16 indices into
 * `name` / `company` (use `String.prototype.slice`). */
export interface SearchHit {
  id: string;
  name: string;
  /** Empty for a stub. */
  company: string;
  /** Empty for a stub. */
  city: string;
  /** False for a stub: the account was evicted, fetch it when online. */
  onDevice: boolean;
  match: "exact" | "prefix" | "substring";
  /** Score at the last plan (0 before any). */
  score: number;
  spans: { name: Array<[number, number]>; company: Array<[number, number]> };
}

export interface InsightsOptions {
  /** The rep (default: `setContext`'s `me`). */
  me?: string;
  /** Unix seconds (default: the context's `now`, else the clock). */
  now?: number;
  /** Local time's offset, seconds east of UTC (weeks start Monday 00:00 local). */
  utcOffsetSeconds?: number;
  /** Longest overdue list (default 20). */
  overdueLimit?: number;
}

export interface WeekCounts { visits: number; calls: number; meetings: number }

/** The rep's numbers from the accounts on the device. */
export interface Insights {
  records: number;
  week_start: number;
  this_week: WeekCounts;
  last_week: WeekCounts;
  /** Planned visit passed with no visit since; most overdue first. */
  overdue: Array<{ id: string; name: string; next_visit: number; days_overdue: number }>;
  overdue_total: number;
  pipeline: Array<{ stage: string; currency: string; accounts: number; value_minor: number }>;
  top: Array<{ id: string; name: string; score: number }>;
}

export interface MonthTrend {
  year: number;
  /** 1–12. */
  month: number;
  counts: { call: number; meeting: number; visit: number; note: number; task: number; email: number };
}

/** A field the rep changes, externally tagged: `{ phone: "+46 8 …" }`. */
export type Change =
  | { name: string } | { company: string } | { email: string } | { phone: string }
  | { street: string } | { city: string } | { postcode: string } | { stage: string }
  | { deal_value: number } | { next_visit: number | null } | { last_contact: number | null }
  | { tags: string[] } | { custom: { name: string; value: CustomValue | null } };

/** One edit: fields set, activities logged, or the account deleted. */
export interface Patch { set?: Change[]; log?: Activity[]; delete?: boolean }

/** A pending edit in the outbox. */
export interface Edit { seq: number; id: string; base_version: number; at: number; patch: Required<Patch> }

/** What a sealed blob holds; a blob opens only as its own kind. */
export type SealKind = "snapshot" | "journal" | "secret";

/** Argon2id cost of a PIN wrap (default 16 MiB, 3 passes, 1 lane). */
export interface KdfParams { memoryKib?: number; passes?: number; lanes?: number }

/** What a `SyncSession` is made with. */
export interface SyncOptions {
  /** A built-in profile (`"reference"`, `"json-server"`), a profile object, or its JSON. */
  profile: string | Record<string, unknown>;
  /** `http://127.0.0.1:8787` (no trailing slash needed). */
  baseUrl: string;
  /** The bearer token (profiles with `auth.style: "bearer"`). */
  token?: string;
  /** This device's id (idempotency keys, the device header); 1–255 bytes. */
  device: string;
  /** Who the rep is and when it is; default: the store's `setContext`. */
  context?: RankContextInit;
  /** The rules that pick the feeds (pushdown) and what a full store keeps;
   * default: the store's `setRules`; `null`: pull every record, skip what does not fit. */
  rules?: string | RuleSet | null;
  /** What `state()` returned after the last sync; absent or null: a first sync. */
  state?: string | null;
  /** Push the outbox (default true). */
  push?: boolean;
  /** Pull the feed (default true). */
  pull?: boolean;
  /** Most pages one feed pass may take (default 100,000). */
  maxPages?: number;
  /** Tries of one request before the sync fails (default 8). */
  maxAttempts?: number;
  /** First backoff after a 5xx or a network error, doubling (default 500). */
  backoffMs?: number;
  /** Longest wait (a longer `Retry-After` is cut to it; default 300,000). */
  maxWaitMs?: number;
  /** Largest response body accepted (default 8 MiB). */
  maxBodyBytes?: number;
  /** Share of room for stubs when a full store plans (default 10). */
  stubSharePercent?: number;
}

/** What the session asks for next. */
export type SyncAction =
  | { kind: "send"; method: string; url: string; headers: Array<[string, string]>; body: Uint8Array | null }
  | { kind: "wait"; ms: number }
  | { kind: "done"; report: SyncReport }
  | { kind: "auth"; status: number; message: string; error: SatchelError }
  | { kind: "wipe"; error: SatchelError }
  | { kind: "failed"; error: SatchelError };

export interface SyncProgress {
  editsDone: number;
  editsExpected: number;
  recordsDone: number;
  /** When the backend says (a total header or field of the profile). */
  recordsExpected: number | null;
  bytesDone: number;
  pages: number;
}

export interface SyncReport {
  pushed: number;
  merged: number;
  conflicts: number;
  upserted: number;
  deleted: number;
  skipped: number;
  retained: number;
  retries: number;
  /** Contacts, deals and price lists written (the profile's `entities` feeds). */
  relatedUpserted: number;
  /** Contacts, deals and price lists deleted by tombstones. */
  relatedDeleted: number;
  /** Contacts and deals whose account is not on the device, or that did not fit. */
  relatedSkipped: number;
}

export type SyncEvent =
  | { kind: "pushed" | "merged" | "conflict"; seq: number }
  | { kind: "editRefused"; seq: number; reason: string }
  | { kind: "retry"; reason: string };

/** How `sync()` does its I/O. */
export interface SyncDriveOptions {
  /** `fetch` or anything with its signature; default: the global one. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Checked between requests; aborts the request or wait under way. Rejects with `SYNC_ABORTED`. */
  signal?: AbortSignal;
  /** After each response; may return a promise (save the store and `state()` there). */
  onProgress?: (progress: SyncProgress, session: SyncSession) => void | Promise<void>;
  /** Each event as it happens. */
  onEvent?: (event: SyncEvent) => void;
}

/** One field both sides changed: each value as a change (`{ phone: "…" }`). */
export interface Clash { local: Change; server: Change }

/** An outbox edit the backend could not take as it is; resolve with `resolveConflict`. */
export interface Conflict {
  seq: number;
  id: string;
  server_version: number;
  server_deleted: boolean;
  clashes: Clash[];
  server_record: Account | null;
  resolution: "local" | "server" | null;
}
