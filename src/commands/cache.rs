//! `stages cache ls` and `stages cache prune`: the native back end's step
//! cache (images labelled `dev.stages.cache-key`) on the Engine.

use miette::{IntoDiagnostic, miette};

use super::Exit;
use crate::cli::{CacheLsArgs, CachePruneArgs};
use crate::engine::connection::EngineAddress;
use crate::engine::native::cache_admin::{
    human_age, human_size, list_cache, parse_storage_size, prune_cache, select_for_prune,
};

fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.get(..12).unwrap_or(id)
}

pub fn ls(args: CacheLsArgs) -> miette::Result<Exit> {
    runtime()?.block_on(async {
        let engine = EngineAddress::resolve_with(
            args.engine.host.as_deref(),
            args.engine.context.as_deref(),
        )?
        .connect()
        .await?;
        let entries = list_cache(&engine).await.map_err(|e| miette!("{e}"))?;
        println!(
            "{:<12}  {:>9}  {:<16}  {:<16}  STEP",
            "IMAGE", "SIZE", "CREATED", "STAGE"
        );
        let now = now();
        for entry in &entries {
            let step: String = entry.step.chars().take(60).collect();
            println!(
                "{:<12}  {:>9}  {:<16}  {:<16}  {step}",
                short(&entry.id),
                human_size(entry.size),
                human_age(entry.created, now),
                entry.stage,
            );
        }
        let total: i64 = entries.iter().map(|e| e.size).sum();
        eprintln!("{} cached steps, {}", entries.len(), human_size(total));
        Ok(Exit::Success)
    })
}

pub fn prune(args: CachePruneArgs) -> miette::Result<Exit> {
    let keep = match &args.keep_storage {
        Some(text) => Some(parse_storage_size(text).ok_or_else(|| {
            miette!(
                help = "write a size such as 500MB or 2GB",
                "`{text}` is not a size"
            )
        })?),
        None => None,
    };
    runtime()?.block_on(async {
        let engine = EngineAddress::resolve_with(
            args.engine.host.as_deref(),
            args.engine.context.as_deref(),
        )?
        .connect()
        .await?;
        let entries = list_cache(&engine).await.map_err(|e| miette!("{e}"))?;
        let chosen = select_for_prune(&entries, keep);
        let report = prune_cache(&engine, chosen)
            .await
            .map_err(|e| miette!("{e}"))?;
        let freed: i64 = report.removed.iter().map(|e| e.size).sum();
        for (entry, reason) in &report.kept {
            eprintln!("kept {}: {reason}", short(&entry.id));
        }
        println!(
            "removed {} cached steps ({})",
            report.removed.len(),
            human_size(freed)
        );
        Ok(Exit::Success)
    })
}
