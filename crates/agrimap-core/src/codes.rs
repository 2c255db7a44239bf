//! The value lists (crop types, seasons, species, …) as documents, for
//! legends, popups and clients: every list, or one, with its titles and
//! codes; codes added by an admin.

use crate::Core;
use crate::error::{CoreError, echo};
use agrimap_model::Code;
use agrimap_model::codes::{CODE_LISTS, CodeError, is_code_list};
use agrimap_store::StoreError;
use serde::Deserialize;
use serde_json::{Value as Json, json};

/// One code as the lists give it.
#[must_use]
pub fn code_json(c: &Code) -> Json {
    json!({ "code": c.code, "label_vi": c.label_vi, "label_en": c.label_en, "retired": c.retired })
}

/// The lists (`only` one, if given) with their titles and codes.
fn lists_json(codes: &[Code], only: Option<&str>) -> Vec<Json> {
    CODE_LISTS
        .iter()
        .filter(|(id, ..)| only.is_none_or(|o| o == *id))
        .map(|(id, vi, en)| {
            let of_list: Vec<Json> = codes.iter().filter(|c| c.list == *id).map(code_json).collect();
            json!({ "list": id, "title_vi": vi, "title_en": en, "codes": of_list })
        })
        .collect()
}

/// A new code as an admin sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCode {
    code: String,
    label_vi: String,
    label_en: String,
}

impl Core {
    /// `{"lists": […]}`: every list and its codes (retired ones marked).
    ///
    /// # Errors
    /// The store's.
    pub async fn code_lists(&self) -> Result<Json, CoreError> {
        let codes = self.store.codes().await?;
        Ok(json!({ "lists": lists_json(&codes, None) }))
    }

    /// One list with its titles and codes.
    ///
    /// # Errors
    /// For a list that is not one, as the store names it; the store's errors.
    pub async fn code_list(&self, list: &str) -> Result<Json, CoreError> {
        if !is_code_list(list) {
            return Err(StoreError::Code(CodeError::UnknownList(echo(list, 64))).into());
        }
        let codes = self.store.codes().await?;
        Ok(lists_json(&codes, Some(list)).pop().unwrap_or(Json::Null))
    }

    /// Adds the code that `body` (`{"code", "label_vi", "label_en"}`) gives to `list`.
    ///
    /// # Errors
    /// `bad_code` for a body that is not one; what the store refuses.
    pub async fn add_code(&self, list: String, body: &[u8]) -> Result<Json, CoreError> {
        let new: NewCode = serde_json::from_slice(body).map_err(|e| {
            CoreError::invalid(
                "bad_code",
                format!("the body must be {{\"code\": \"...\", \"label_vi\": \"...\", \"label_en\": \"...\"}}: {e}"),
            )
        })?;
        let code = Code {
            list,
            code: new.code,
            label_vi: new.label_vi,
            label_en: new.label_en,
            retired: false,
        };
        self.store.add_code(&code).await?;
        Ok(code_json(&code))
    }
}
