//! The native HTTP transport of sync: one `HttpRequest` of core's sans-IO
//! session sent with ureq (blocking), its answer read back whatever the
//! status. Shared by `satchel sync` and the sync benchmark, so that the
//! benchmark measures the command's own I/O.

use std::io::Read;

use satchel_core::sync::{HttpRequest, HttpResponse};

/// Sends `req` and reads the response, at most `max` body bytes plus one (so
/// the session sees a body that is too large). An HTTP error status is a
/// response; only a transport failure is an `Err`.
pub fn send(agent: &ureq::Agent, req: &HttpRequest, max: usize) -> Result<HttpResponse, String> {
    let mut r = agent.request(&req.method, &req.url);
    for (k, v) in &req.headers {
        r = r.set(k, v);
    }
    let resp = match r.send_bytes(&req.body) {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    // One byte past the limit, so the session sees the body is too large.
    resp.into_reader()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
