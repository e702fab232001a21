/** What a store is opened with. */
export interface StoreOptions {
  /** The byte ceiling: bytes, or a size like `"56MiB"`. Leave room under the
   * module's 64 MiB memory cap for JS glue, stack and transient buffers. */
  budget: number | string;
  /** Uncompressed bytes gathered before they become a compressed block (default 131072). */
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
    /** The search index and each record's last score. */ search: number;
    /** Pending offline edits (and, with sync, their bases and conflicts). */ outbox: number;
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
  | "WRITE_REFUSED";

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
}
