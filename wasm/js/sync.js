// The I/O loop of sync: pumps a SyncSession (core's sans-IO state machine,
// bound in src/sync.rs) over the caller's fetch and timers. Decides nothing:
// what to send, when to retry, merge, wait or stop is the session's; this
// file only performs it. Shipped in every package as a wasm-bindgen snippet
// and exported as `sync` through src/sync.rs.
//
// Invariants: one request at a time, each outcome handed back before the
// next poll; an AbortSignal is honoured between requests (and cancels the
// request or wait under way), after which the session's state() is the
// position of the last page applied; every rejection is a SatchelError the
// session built (this file creates no error of its own).
//
// ES2017 and no imports: browsers without ES2020 load it, and xtask turns
// the one `export` line into `module.exports` for the CommonJS Node build.

function pairsOf(headers) {
  const pairs = [];
  if (headers && typeof headers.forEach === "function") {
    headers.forEach(function (value, name) { pairs.push([name, value]); });
  }
  return pairs;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms, signal) {
  return new Promise(function (resolve) {
    if (signal && signal.aborted) return resolve();
    let timer = null;
    const done = function () {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", done);
      resolve();
    };
    timer = setTimeout(done, ms);
    if (signal) signal.addEventListener("abort", done);
  });
}

async function drive(store, session, options) {
  const o = options || {};
  // src/sync.rs checked that one of the two is a function.
  const send = o.fetch || fetch;
  const signal = o.signal || null;
  const limit = session.maxBodyBytes;
  const events = function () {
    for (let e = session.pollEvent(); e !== undefined; e = session.pollEvent()) {
      if (o.onEvent) o.onEvent(e);
    }
  };
  // Bounded: the session caps retries (maxAttempts) and pages per pass
  // (maxPages), and the outbox is finite, so `poll` reaches an end.
  for (;;) {
    if (signal && signal.aborted) throw session.cancel();
    const action = session.poll(store);
    events();
    if (action.kind === "done") return action.report;
    if (action.kind === "wait") {
      await pause(action.ms, signal);
      continue;
    }
    if (action.kind !== "send") throw action.error;
    let status = 0, headers = null, body = null;
    try {
      const res = await send(action.url, {
        method: action.method,
        headers: action.headers,
        body: action.body === null ? undefined : action.body,
        signal: signal || undefined,
        cache: "no-store",
        credentials: "omit",
      });
      status = res.status;
      headers = pairsOf(res.headers);
      body = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (signal && signal.aborted) throw session.cancel();
      session.handleTransportError(String((e && e.message) || e));
      events();
      continue;
    }
    // One byte past the limit is enough for the session to refuse the body.
    if (body.length > limit + 1) body = body.subarray(0, limit + 1);
    session.handleResponse(store, status, headers, body);
    events();
    if (o.onProgress) await o.onProgress(session.progress(), session);
  }
}

export { drive };
