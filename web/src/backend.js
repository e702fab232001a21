// The reference backend (fixtures/BACKEND.md), spoken with fetch.
//
// INTERIM LOADER: core's SyncSession (issue 6) is not ready. Until it lands,
// this module pages the backend's /v1/accounts change feed itself and
// streams each page into the store with the package's `ingestNdjson` (the
// store ranks and evicts by the rule set when its budget is full), applies
// tombstones with `delete`, and pushes the outbox with PATCH + If-Match +
// Idempotency-Key. When SyncSession lands, this file is replaced by pumping
// it; nothing else in the app should need to change.
import { state } from "./engine.js";

const PAGE = 1000;
const MAX_PAGES = 5000;

export class BackendError extends Error {
  constructor(status, code, message) {
    super(message || code || ("HTTP " + status));
    this.name = "BackendError";
    this.status = status;
    this.code = code;
  }
}

function base() {
  return state.session.base.replace(/\/+$/, "");
}

async function request(path, init) {
  const opts = Object.assign({ headers: {} }, init || {});
  if (state.session.token) opts.headers.Authorization = "Bearer " + state.session.token;
  let res;
  try {
    res = await fetch(base() + path, opts);
  } catch (e) {
    throw new BackendError(0, "network", "the backend cannot be reached (" + e.message + ")");
  }
  if (res.status === 401) state.session.token = "";
  return res;
}

async function failure(res) {
  let body = {};
  try { body = await res.json(); } catch (e) { body = {}; }
  return new BackendError(res.status, body.error, body.message);
}

/** POST /v1/login: a device token (kept in memory only). */
export async function login(baseUrl, user, password, device) {
  state.session = Object.assign({}, state.session || {}, { base: baseUrl, user: user, device: device, token: "" });
  const res = await request("/v1/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: user, password: password, device: device }),
  });
  if (!res.ok) throw await failure(res);
  const body = await res.json();
  state.session.token = body.token;
  return body;
}

/**
 * Pages the feed from `cursor` (null: from the start, without tombstones)
 * into the store. `onPage({ pages, items, report })` after each page; it may
 * return a promise (the caller saves, yields to the UI). Returns the new
 * watermark and totals.
 */
export async function pull(store, cursor, onPage) {
  let href = "/v1/accounts?limit=" + PAGE + (cursor
    ? "&since=" + cursor.since + "&after_seq=" + cursor.after_seq
    : "&include_deleted=false");
  let watermark = cursor;
  let pages = 0, items = 0, deleted = 0;
  let last = "";
  const enc = new TextEncoder();
  while (href) {
    if (pages >= MAX_PAGES || href === last) throw new BackendError(0, "feed", "the feed does not move forward; stopped");
    last = href;
    const res = await request(href);
    if (!res.ok) throw await failure(res);
    const page = await res.json();
    const lines = [];
    for (const item of page.items) {
      if (item.deleted) {
        if (!store.isDirty(item.id)) store.delete(item.id);
        deleted += 1;
      } else if (!store.isDirty(item.id)) {
        // A record with a pending edit keeps the rep's version until the push.
        lines.push(JSON.stringify(item));
      }
    }
    if (lines.length) store.ingestNdjson(enc.encode(lines.join("\n") + "\n"));
    pages += 1;
    items += page.items.length;
    watermark = page.watermark || watermark;
    href = page.next ? page.next.href : "";
    if (onPage) await onPage({ pages: pages, items: items, deleted: deleted, page: page.items });
  }
  const report = store.finishIngest();
  return { watermark: watermark, pages: pages, items: items, deleted: deleted, report: report };
}

/** GET one account (a stub the rep opened while online). */
export async function fetchOne(id) {
  const res = await request("/v1/accounts/" + encodeURIComponent(id));
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** The JSON merge patch (RFC 7396) for an outbox edit, from the record as it is now. */
function mergePatch(edit, record) {
  const body = {};
  const address = {};
  for (const change of edit.patch.set) {
    const field = Object.keys(change)[0];
    const value = change[field];
    if (field === "street" || field === "city" || field === "postcode") address[field] = value;
    else if (field === "custom") {
      body.custom = body.custom || {};
      body.custom[value.name] = value.value;
    } else body[field] = value;
  }
  if (Object.keys(address).length) body.address = address;
  // Arrays are replaced whole by a merge patch: send the activities as the
  // device has them (the backend's, which If-Match pins, plus the logged ones).
  if (edit.patch.log.length) body.activities = record.activities;
  return body;
}

/**
 * Pushes the outbox in order. Each edit goes with If-Match (the version it
 * was made on) and an Idempotency-Key that is the same on every retry; the
 * backend's answer is acked and, when no later edit of the record waits,
 * stored. A 412 stops at that edit (a conflict: kept, shown; resolving
 * conflicts comes with core's sync). Returns `{ pushed, conflicts }`.
 */
export async function push(store) {
  const versions = {};
  let pushed = 0;
  const conflicts = [];
  for (const edit of store.outbox()) {
    if (conflicts.some(function (c) { return c.id === edit.id; })) continue;
    const record = store.get(edit.id);
    const version = versions[edit.id] || edit.base_version;
    const path = "/v1/accounts/" + encodeURIComponent(edit.id);
    const headers = {
      "content-type": "application/json",
      "If-Match": '"' + version + '"',
      "Idempotency-Key": state.session.device + "-" + edit.seq,
    };
    const res = edit.patch.delete
      ? await request(path, { method: "DELETE", headers: headers })
      : await request(path, { method: "PATCH", headers: headers, body: JSON.stringify(mergePatch(edit, record || { activities: [] })) });
    if (res.status === 412 || res.status === 410 || res.status === 404) {
      conflicts.push({ id: edit.id, seq: edit.seq, status: res.status });
      continue;
    }
    if (!res.ok) throw await failure(res);
    const stored = await res.json();
    store.ack(edit.seq);
    versions[edit.id] = stored.version;
    if (!edit.patch.delete && !store.isDirty(edit.id)) store.upsert(stored);
    pushed += 1;
  }
  return { pushed: pushed, conflicts: conflicts };
}
