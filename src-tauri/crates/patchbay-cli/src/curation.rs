//! `patchbay provider move` and `patchbay model …`: one change to the
//! providers' order or to a provider's models, through the service's
//! curation use cases. `--json` prints the new order (`{"order": [ids]}`)
//! or the changed provider (`ProviderView`).

use std::process::ExitCode;

use patchbay_core::curation::{ModelChange, Placement};
use patchbay_core::store::ProviderView;
use patchbay_service::Service;
use serde::Serialize;

use crate::cli::{ModelCommand, MoveProviderArgs, PlacementArgs};
use crate::error::CliError;
use crate::output::{self, Output};
use crate::provider::open_service;

fn placement(args: &PlacementArgs) -> Placement {
    match (&args.before, args.to) {
        (Some(other), _) => Placement::Before(other.clone()),
        // clap makes one of the two required; `--to` counts from 1.
        (None, to) => Placement::At(to.map_or(0, |position| position as usize - 1)),
    }
}

pub(crate) fn move_provider(
    service: &Service,
    args: &MoveProviderArgs,
    output: Output,
) -> Result<ExitCode, CliError> {
    let providers = service.move_provider(&args.id, placement(&args.placement))?;
    let order: Vec<String> = providers
        .iter()
        .map(|provider| provider.id.to_string())
        .collect();
    if output.is_json() {
        output.json(&Order { order: &order })?;
    } else {
        let position = order
            .iter()
            .position(|id| id == args.id.as_str())
            .unwrap_or(0);
        output.text(&format!(
            "{} is now provider {} of {}: {}.",
            args.id,
            position + 1,
            order.len(),
            order.join(", ")
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn model(command: ModelCommand, output: Output) -> Result<ExitCode, CliError> {
    let service = open_service()?;
    let (provider_id, change, done) = match command {
        ModelCommand::Add { model, name } => (
            model.provider,
            ModelChange::Add {
                id: model.model,
                display_name: name,
            },
            "Added",
        ),
        ModelCommand::Remove(model) => (
            model.provider,
            ModelChange::Remove { id: model.model },
            "Removed",
        ),
        ModelCommand::Hide(model) => (
            model.provider,
            ModelChange::Hide { id: model.model },
            "Hid from apps",
        ),
        ModelCommand::Show(model) => (
            model.provider,
            ModelChange::Show { id: model.model },
            "Offering to apps",
        ),
        ModelCommand::Rename { model, name, clear } => (
            model.provider,
            ModelChange::Rename {
                id: model.model,
                display_name: if clear { None } else { name },
            },
            "Renamed",
        ),
        ModelCommand::Check { model, yes } => {
            return crate::capabilities::check(&service, &model, yes, output)
        }
        ModelCommand::Move {
            model,
            placement: at,
        } => (
            model.provider,
            ModelChange::Move {
                id: model.model,
                placement: placement(&at),
            },
            "Moved",
        ),
    };
    let model_id = change.model_id().to_owned();
    let provider = service.change_model(&provider_id, change)?;
    if output.is_json() {
        output.json(&ProviderView::from(&provider))?;
    } else {
        let shown = provider
            .models
            .iter()
            .find(|model| model.id == model_id)
            .map(|model| format!(" ({})", output::clean(model.shown_name())))
            .unwrap_or_default();
        output.text(&format!(
            "{done} {model_id}{shown} of {}. Models now: {}.",
            provider.id,
            crate::provider::model_lines(&provider).join(", ")
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct Order<'a> {
    order: &'a [String],
}
