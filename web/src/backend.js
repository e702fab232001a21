// The backend, through the package's sync: login (the token is saved only
// inside the sealed session, see engine.js), one account fetched on demand, and `run`, which drives the
// package's SyncSession with `sync()` over fetch.
//
// Every sync decision is core's (push the outbox with If-Match and an
// Idempotency-Key, merge or raise a conflict, page the feed into the store
// within its budget, retry with backoff); this file only wires it to the
// app: the saved sync state (engine.state.syncState, saved with each
// snapshot) in, progress out, and an AbortSignal to stop between requests.
import { state } from "./engine.js";

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

/** POST /v1/login: a device token (in the session, which is stored sealed). */
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

/** GET one account (a stub the rep opened while online). */
export async function fetchOne(id) {
  const res = await request("/v1/accounts/" + encodeURIComponent(id));
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** POST /v1/device/wiped: the device confirms it erased what the backend ordered. */
export async function confirmWiped() {
  const res = await request("/v1/device/wiped", { method: "POST" });
  if (!res.ok) throw await failure(res);
}

/**
 * One sync of `store` (push the outbox, then pull the feed) from the saved
 * sync state. `opts.onProgress(progress, session)` after each response (it
 * may return a promise: the caller saves there, and `state.syncState` is
 * already the position of what the store holds); `opts.signal` stops it
 * between requests (rejects with SYNC_ABORTED). Resolves with the report;
 * rejects with the package's SatchelError (AUTH_REQUIRED forgets the token).
 */
export async function run(store, opts) {
  const o = opts || {};
  const s = state.session;
  const session = new state.pkg.SyncSession(store, {
    profile: "reference",
    baseUrl: base(),
    token: s.token,
    device: s.device,
    context: { me: s.user, territories: s.territories || [] },
    // Every account, not the rules' pushdown: the app searches the whole
    // org on the device (a full store still plans with retain afterwards).
    rules: null,
    state: state.syncState || null,
  });
  try {
    return await state.pkg.sync(store, session, {
      fetch: function (url, init) { return fetch(url, init); },
      signal: o.signal,
      onEvent: o.onEvent,
      onProgress: function (p) {
        state.syncState = session.state();
        return o.onProgress ? o.onProgress(p, session) : undefined;
      },
    });
  } catch (e) {
    if (e.code === "AUTH_REQUIRED") s.token = "";
    throw e;
  } finally {
    state.syncState = session.state();
    session.free();
  }
}
