//! A person's edits to the catalog, one at a time: where a provider or a
//! model sits, a model's display name, and whether a model is offered to
//! host apps. The form replaces a provider's whole model list; these are
//! the small moves the window's lists and `patchbay model …` /
//! `patchbay provider move` make, as pure functions over the lists the
//! store then checks and writes.
//!
//! Every refusal names the field (`model`, `display_name`, `position`) and
//! what to do instead, and leaves the list as it was.

use crate::error::{Error, Result};
use crate::model::ModelEntry;

/// Longest display name, in characters: a picker row, not a description.
pub const DISPLAY_NAME_LIMIT: usize = 80;

/// Where a provider or a model goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Just before the item with this id.
    Before(String),
    /// At this position, counting from 0; past the end means last.
    At(usize),
}

/// One change to a provider's chosen models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChange {
    /// Appends a model (offered at once), optionally with a display name.
    Add {
        id: String,
        display_name: Option<String>,
    },
    Remove {
        id: String,
    },
    /// Keeps the model but stops offering it to host apps.
    Hide {
        id: String,
    },
    Show {
        id: String,
    },
    /// Sets (`Some`) or clears (`None`) the display name.
    Rename {
        id: String,
        display_name: Option<String>,
    },
    Move {
        id: String,
        placement: Placement,
    },
}

impl ModelChange {
    /// The model the change is about.
    pub fn model_id(&self) -> &str {
        match self {
            Self::Add { id, .. }
            | Self::Remove { id }
            | Self::Hide { id }
            | Self::Show { id }
            | Self::Rename { id, .. }
            | Self::Move { id, .. } => id,
        }
    }
}

/// A display name as typed: trimmed; empty means "no display name".
pub fn validate_display_name(raw: &str) -> Result<Option<String>> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            "display_name",
            "A display name is one line of text: remove the tabs or line breaks.",
        ));
    }
    let length = trimmed.chars().count();
    if length > DISPLAY_NAME_LIMIT {
        return Err(Error::invalid(
            "display_name",
            format!(
                "A display name has at most {DISPLAY_NAME_LIMIT} characters; this one has {length}."
            ),
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// Applies `change` to `models`. Returns whether anything changed (hiding
/// a hidden model is not an error, just nothing to do). The model-id rules
/// themselves (length, characters, the limit on the list) are the store's
/// usual check after this.
pub fn apply_model_change(
    provider_label: &str,
    models: &mut Vec<ModelEntry>,
    change: ModelChange,
) -> Result<bool> {
    let model_id = change.model_id().to_owned();
    let position = models.iter().position(|model| model.id == model_id);
    let find = |position: Option<usize>| {
        position.ok_or_else(|| {
            let known: Vec<&str> = models.iter().map(|model| model.id.as_str()).collect();
            Error::invalid(
                "model",
                format!(
                    "{provider_label} has no model `{model_id}`; its models are: {}.",
                    known.join(", ")
                ),
            )
        })
    };
    match change {
        ModelChange::Add { id, display_name } => {
            if let Some(index) = position {
                return Err(Error::invalid(
                    "model",
                    format!("`{id}` is already model {} of {provider_label}.", index + 1),
                ));
            }
            crate::validation::validate_model_id(&id)
                .map_err(|problem| Error::Invalid(vec![problem]))?;
            let display_name = match display_name {
                Some(raw) => validate_display_name(&raw)?,
                None => None,
            };
            models.push(ModelEntry {
                display_name,
                ..ModelEntry::new(id)
            });
            Ok(true)
        }
        ModelChange::Remove { .. } => {
            let index = find(position)?;
            if models.len() == 1 {
                return Err(Error::invalid(
                    "model",
                    format!(
                        "`{}` is the only model of {provider_label}; add another one first, or remove the provider.",
                        models[index].id
                    ),
                ));
            }
            if !models[index].hidden && visible_count(models) == 1 {
                return Err(last_visible(provider_label, &models[index].id, "Removing"));
            }
            models.remove(index);
            Ok(true)
        }
        ModelChange::Hide { .. } => {
            let index = find(position)?;
            if models[index].hidden {
                return Ok(false);
            }
            if visible_count(models) == 1 {
                return Err(last_visible(provider_label, &models[index].id, "Hiding"));
            }
            models[index].hidden = true;
            Ok(true)
        }
        ModelChange::Show { .. } => {
            let index = find(position)?;
            let changed = models[index].hidden;
            models[index].hidden = false;
            Ok(changed)
        }
        ModelChange::Rename { display_name, .. } => {
            let index = find(position)?;
            let display_name = match display_name {
                Some(raw) => validate_display_name(&raw)?,
                None => None,
            };
            let changed = models[index].display_name != display_name;
            models[index].display_name = display_name;
            Ok(changed)
        }
        ModelChange::Move { placement, .. } => {
            let index = find(position)?;
            let ids: Vec<&str> = models.iter().map(|model| model.id.as_str()).collect();
            let target = target_index(&ids, index, &placement, "model")?;
            Ok(move_item(models, index, target))
        }
    }
}

fn visible_count(models: &[ModelEntry]) -> usize {
    models.iter().filter(|model| !model.hidden).count()
}

fn last_visible(provider_label: &str, id: &str, doing: &str) -> Error {
    Error::invalid(
        "model",
        format!(
            "`{id}` is the only model {provider_label} offers to apps. {doing} it would leave the provider with no entries: show another model first, or disable the provider."
        ),
    )
}

/// Where the item at `from` lands for `placement`, among `ids` (the list
/// before the move). `what` names the items in messages.
pub fn target_index(ids: &[&str], from: usize, placement: &Placement, what: &str) -> Result<usize> {
    match placement {
        Placement::At(position) => Ok((*position).min(ids.len().saturating_sub(1))),
        Placement::Before(other) => {
            let Some(before) = ids.iter().position(|id| id == other) else {
                return Err(Error::invalid(
                    "position",
                    format!("There is no {what} `{other}` to move it before."),
                ));
            };
            if before == from {
                return Err(Error::invalid(
                    "position",
                    format!("A {what} cannot be moved before itself."),
                ));
            }
            // Removing the item first shifts the ones after it up by one.
            Ok(if before > from { before - 1 } else { before })
        }
    }
}

/// Moves the item at `from` to `to` (both valid indices); whether the
/// order changed.
pub fn move_item<T>(items: &mut Vec<T>, from: usize, to: usize) -> bool {
    if from == to {
        return false;
    }
    let item = items.remove(from);
    items.insert(to, item);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(ids: &[&str]) -> Vec<ModelEntry> {
        ids.iter().map(|id| ModelEntry::new(*id)).collect()
    }

    fn ids(models: &[ModelEntry]) -> Vec<&str> {
        models.iter().map(|model| model.id.as_str()).collect()
    }

    fn field_of(error: Error) -> (String, String) {
        match error {
            Error::Invalid(problems) => (problems[0].field.clone(), problems[0].message.clone()),
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn add_appends_with_a_checked_display_name_and_refuses_a_duplicate() {
        let mut list = models(&["a"]);
        let changed = apply_model_change(
            "Groq",
            &mut list,
            ModelChange::Add {
                id: "org/b:q4".into(),
                display_name: Some("  B small  ".into()),
            },
        )
        .expect("add");
        assert!(changed);
        assert_eq!(ids(&list), ["a", "org/b:q4"]);
        assert_eq!(list[1].display_name.as_deref(), Some("B small"));
        let (field, message) = field_of(
            apply_model_change(
                "Groq",
                &mut list,
                ModelChange::Add {
                    id: "a".into(),
                    display_name: None,
                },
            )
            .expect_err("duplicate"),
        );
        assert_eq!(field, "model");
        assert!(message.contains("already model 1 of Groq"), "{message}");
        assert_eq!(ids(&list), ["a", "org/b:q4"]);
    }

    #[test]
    fn the_last_offered_model_can_be_neither_hidden_nor_removed() {
        let mut list = models(&["a", "b"]);
        assert!(
            apply_model_change("P", &mut list, ModelChange::Hide { id: "a".into() }).expect("hide")
        );
        assert!(
            !apply_model_change("P", &mut list, ModelChange::Hide { id: "a".into() })
                .expect("again")
        );
        let (field, message) = field_of(
            apply_model_change("P", &mut list, ModelChange::Hide { id: "b".into() })
                .expect_err("last"),
        );
        assert_eq!(field, "model");
        assert!(message.contains("disable the provider"), "{message}");
        apply_model_change("P", &mut list, ModelChange::Remove { id: "b".into() })
            .expect_err("last visible");
        // A hidden one can go; then the only model cannot.
        apply_model_change("P", &mut list, ModelChange::Remove { id: "a".into() })
            .expect("remove hidden");
        let (_, message) = field_of(
            apply_model_change("P", &mut list, ModelChange::Remove { id: "b".into() })
                .expect_err("only"),
        );
        assert!(message.contains("only model of P"), "{message}");
        assert_eq!(ids(&list), ["b"]);
    }

    #[test]
    fn an_unknown_model_is_named_with_the_ones_there_are() {
        let mut list = models(&["a", "b"]);
        let (field, message) = field_of(
            apply_model_change("Groq", &mut list, ModelChange::Show { id: "c".into() })
                .expect_err("unknown"),
        );
        assert_eq!(field, "model");
        assert_eq!(message, "Groq has no model `c`; its models are: a, b.");
    }

    #[test]
    fn rename_sets_and_clears_and_refuses_control_characters_and_long_names() {
        let mut list = models(&["a"]);
        let rename = |name: Option<&str>| ModelChange::Rename {
            id: "a".into(),
            display_name: name.map(str::to_owned),
        };
        assert!(apply_model_change("P", &mut list, rename(Some("Alpha"))).expect("set"));
        assert_eq!(list[0].display_name.as_deref(), Some("Alpha"));
        assert!(!apply_model_change("P", &mut list, rename(Some("Alpha"))).expect("same"));
        let (field, _) = field_of(
            apply_model_change("P", &mut list, rename(Some("a\nb"))).expect_err("newline"),
        );
        assert_eq!(field, "display_name");
        let long = "x".repeat(DISPLAY_NAME_LIMIT + 1);
        apply_model_change("P", &mut list, rename(Some(&long))).expect_err("long");
        assert_eq!(list[0].display_name.as_deref(), Some("Alpha"));
        assert!(apply_model_change("P", &mut list, rename(Some("   "))).expect("blank clears"));
        assert_eq!(list[0].display_name, None);
    }

    #[test]
    fn moves_before_another_or_to_a_position() {
        let mut list = models(&["a", "b", "c", "d"]);
        let move_to = |id: &str, placement: Placement| ModelChange::Move {
            id: id.into(),
            placement,
        };
        apply_model_change("P", &mut list, move_to("d", Placement::Before("b".into())))
            .expect("up");
        assert_eq!(ids(&list), ["a", "d", "b", "c"]);
        apply_model_change("P", &mut list, move_to("a", Placement::Before("c".into())))
            .expect("down");
        assert_eq!(ids(&list), ["d", "b", "a", "c"]);
        apply_model_change("P", &mut list, move_to("c", Placement::At(0))).expect("first");
        assert_eq!(ids(&list), ["c", "d", "b", "a"]);
        apply_model_change("P", &mut list, move_to("c", Placement::At(99))).expect("last");
        assert_eq!(ids(&list), ["d", "b", "a", "c"]);
        assert!(!apply_model_change("P", &mut list, move_to("d", Placement::At(0))).expect("same"));
        let (field, _) = field_of(
            apply_model_change("P", &mut list, move_to("d", Placement::Before("d".into())))
                .expect_err("itself"),
        );
        assert_eq!(field, "position");
        apply_model_change("P", &mut list, move_to("d", Placement::Before("zz".into())))
            .expect_err("unknown");
        assert_eq!(ids(&list), ["d", "b", "a", "c"]);
    }
}
