//! The rep's offline edits on the `Store`: `edit`, `outbox`, `ack`,
//! `isDirty`, thin over core's `Store::edit` and outbox.
//!
//! Owns the reading of a JS patch into core's `Patch` (the JSON shape core
//! documents: `{ set: [{"phone": "…"}], log: [activity], delete }`).
//! Invariant: a refused edit throws and changed nothing (as in core).

use satchel_core::outbox::Patch;
use wasm_bindgen::prelude::*;

use crate::error::Failure;
use crate::{clock, input, parsed, Store};

fn patch(value: &JsValue) -> Result<Patch, Failure> {
    let json = input::json_text(value, "patch")?;
    let tree: serde_json::Value = serde_json::from_slice(json.as_bytes()).map_err(Failure::edit)?;
    Patch::from_json_value(&tree).map_err(Failure::edit)
}

#[wasm_bindgen]
impl Store {
    /// Applies the rep's edit to the account on the device at once and
    /// queues it for sync; returns its sequence number. `patch` is `{ set?:
    /// [Change], log?: [Activity], delete? }` with each change externally
    /// tagged (`{"phone": "+46 8 …"}`, `{"next_visit": 1790000000}`,
    /// `{"custom": {"name": "segment", "value": {"enum": "smb"}}}`); `at`
    /// defaults to the clock. Refusals (`NOT_ON_DEVICE`, `INVALID_EDIT`,
    /// `BUDGET_EXCEEDED`, …) change nothing.
    pub fn edit(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | Patch")] patch: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] at: JsValue,
    ) -> Result<f64, JsValue> {
        let id = Store::id(&id)?;
        let patch = self::patch(&patch)?;
        let at = input::seconds_or(&at, "at", clock)?;
        let seq = self.inner.edit(&id, patch, at).map_err(Failure::from)?;
        Ok(seq as f64)
    }

    /// The pending edits, oldest first: `[{ seq, id, base_version, at, patch }]`.
    #[wasm_bindgen(unchecked_return_type = "Edit[]")]
    pub fn outbox(&self) -> JsValue {
        parsed(&serde_json::to_string(self.inner.outbox()).unwrap_or_default())
    }

    /// Pending edits.
    #[wasm_bindgen(getter, js_name = outboxLength)]
    pub fn outbox_length(&self) -> usize {
        self.inner.outbox().len()
    }

    /// Drops edit `seq` once the backend has it; returns the edit, or
    /// `undefined` when there is none with that number.
    #[wasm_bindgen(unchecked_return_type = "Edit | undefined")]
    pub fn ack(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] seq: JsValue,
    ) -> Result<JsValue, JsValue> {
        let seq = input::count(&seq, "seq", 9_007_199_254_740_991.0)? as u64;
        let edit = self.inner.ack(seq).map_err(Failure::from)?;
        Ok(edit.map_or(JsValue::UNDEFINED, |e| {
            parsed(&serde_json::to_string(&e).unwrap_or_default())
        }))
    }

    /// True when the account has an edit waiting for sync (it is never
    /// evicted).
    #[wasm_bindgen(js_name = isDirty)]
    pub fn is_dirty(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<bool, JsValue> {
        Ok(self.inner.is_dirty(&Store::id(&id)?))
    }
}
