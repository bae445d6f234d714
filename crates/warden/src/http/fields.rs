use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use warden_domain::Reason;

use super::{ApiError, FieldError};

/// Field-by-field reading of a JSON object body, collecting every problem so that one 422
/// lists them all. Unknown fields are ignored.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    /// # Errors
    /// 422 (`body`) when the value is not a JSON object.
    pub fn of(body: Value) -> Result<Self, ApiError> {
        match body {
            Value::Object(map) => Ok(Self {
                map,
                errors: Vec::new(),
            }),
            _ => Err(ApiError::invalid_input(vec![FieldError::new(
                "body",
                "must be a JSON object",
            )])),
        }
    }

    /// A non-blank string; records why otherwise.
    pub fn required_string(&mut self, name: &'static str) -> Option<String> {
        match self.map.remove(name) {
            Some(Value::String(text)) if !text.trim().is_empty() => Some(text),
            Some(Value::String(_)) => self.reject(name, "must not be empty"),
            None | Some(Value::Null) => self.reject(name, "is required"),
            Some(_) => self.reject(name, "must be a string"),
        }
    }

    /// A string or nothing (`null` and absence are the same); records a wrong type.
    pub fn optional_string(&mut self, name: &'static str) -> Option<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(_) => self.reject(name, "must be a string"),
        }
    }

    /// The optional `reason` of a status change (blank means none); records why it is refused.
    pub fn optional_reason(&mut self) -> Option<Reason> {
        match self
            .optional_string("reason")
            .map(|text| Reason::parse(&text))
        {
            Some(Ok(reason)) => reason,
            Some(Err(invalid)) => self.reject("reason", invalid.to_string()),
            None => None,
        }
    }

    /// An optional RFC 3339 date-time, in UTC; records one that does not parse.
    pub fn optional_instant(&mut self, name: &'static str) -> Option<DateTime<Utc>> {
        let text = self.optional_string(name)?;
        match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(instant) => Some(instant.with_timezone(&Utc)),
            Err(_) => self.reject(name, "must be an RFC 3339 date-time"),
        }
    }

    /// The raw value of a field, for types the helpers above do not read.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    pub fn reject<T>(
        &mut self,
        name: &'static str,
        message: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Option<T> {
        self.errors.push(FieldError::new(name, message));
        None
    }

    /// `value` if no field was rejected.
    ///
    /// # Errors
    /// 422 listing every rejected field.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(ApiError::invalid_input(self.errors)),
        }
    }
}
