//! Sections the providers own. The loader asks the provider registry which sections exist
//! (`providers::sections`), so a new provider's `[name]` needs no line in this module.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::line_of;

/// A provider's `[section]`: its struct (with its defaults) and the checks that point at
/// `file:line`.
pub trait ConfigSection: DeserializeOwned {
    /// The table name in the config file.
    const KEY: &'static str;

    /// Checks beyond the types; the error is `(line in text, message)`.
    fn validate(&self, text: &str) -> Result<(), (usize, String)>;
}

/// Reads the section out of the whole file's text, type-checks and validates it; gives back the
/// unknown keys inside it (dotted, `aws.regoin`) for the warnings, or `(line, message)`.
pub type SectionCheck = fn(&str) -> Result<Vec<String>, (usize, String)>;

/// One registered section as the loader sees it.
#[derive(Clone, Copy)]
pub struct Section {
    pub key: &'static str,
    pub check: SectionCheck,
}

impl Section {
    pub const fn of<T: ConfigSection>() -> Section {
        Section { key: T::KEY, check: check::<T> }
    }
}

/// Deserialized from the document itself (not a detached value) so a type error keeps its span,
/// and so its line.
fn check<T: ConfigSection>(text: &str) -> Result<Vec<String>, (usize, String)> {
    let spanned = |e: &toml::de::Error| (line_of(text, e.span().map_or(0, |s| s.start)), e.message().to_string());
    let de = toml::de::Deserializer::parse(text).map_err(|e| spanned(&e))?;
    let mut unknown = Vec::new();
    let found = OnlyKey::<T> { key: T::KEY, kind: std::marker::PhantomData }
        .deserialize(serde_ignored::Deserializer::new(de, &mut |p: serde_ignored::Path| {
            unknown.push(p.to_string().replace("?.", ""));
        }))
        .map_err(|e: toml::de::Error| spanned(&e))?;
    if let Some(section) = found {
        section.validate(text)?;
    }
    // The other top-level keys are skipped here on purpose; only this section's own are news.
    let prefix = format!("{}.", T::KEY);
    unknown.retain(|k| k.starts_with(&prefix));
    Ok(unknown)
}

/// Reads one top-level key of a document as `T` and skips the rest.
struct OnlyKey<T> {
    key: &'static str,
    kind: std::marker::PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for OnlyKey<T> {
    type Value = Option<T>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for OnlyKey<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a table with an optional [{}] section", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}
