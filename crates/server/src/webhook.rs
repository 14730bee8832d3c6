//! `mulin webhook add|list|remove`: a district's webhook subscriptions, which receive every
//! notification of the request flow (delivered by the server's dispatcher).

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use mulin_storage::{Storage, WebhookRecord};
use mulin_web::clock::{Clock, SystemClock};

use crate::{audit_cli, find_district};

#[derive(Subcommand)]
pub(crate) enum WebhookCommand {
    /// Subscribe a receiver and print its signing secret (shown once).
    Add {
        /// Who it is for (unique in the district).
        #[arg(long)]
        name: String,
        /// Where deliveries are POSTed (http://… or https://…).
        #[arg(long)]
        url: String,
        /// The district: its id or division code (default: the only district).
        #[arg(long)]
        district: Option<String>,
    },
    /// List a district's subscriptions (never their secrets).
    List {
        #[arg(long)]
        district: Option<String>,
    },
    /// Remove a subscription by its name, with its undelivered messages.
    Remove {
        #[arg(long)]
        name: String,
        #[arg(long)]
        district: Option<String>,
    },
}

pub(crate) async fn webhook_command(
    store: &Arc<dyn Storage>,
    command: WebhookCommand,
) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Add {
            name,
            url,
            district,
        } => {
            let district = find_district(store, district.as_deref()).await?;
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 64 {
                bail!("a subscription's name has 1 to 64 characters");
            }
            let Ok(url) = mulin_web::notify::check_url(&url) else {
                bail!(
                    "the URL must be a full http:// or https:// address of at most 500 characters \
                     (no other scheme)"
                );
            };
            // 256 random bits; the hash new_token also makes is not needed: the secret
            // must be kept as is to sign with it.
            let (secret, _) = mulin_web::auth::new_token();
            let record = WebhookRecord {
                district: district.path.id().into(),
                id: uuid::Uuid::now_v7(),
                name: name.clone(),
                url: url.clone(),
                secret: secret.clone(),
                created_at: SystemClock.now(),
            };
            store
                .insert_webhook(&record)
                .await
                .context("cannot add the subscription (is the name taken?)")?;
            audit_cli(
                store,
                record.district,
                "webhook.add",
                ("webhook", record.id.to_string()),
                format!("{name} {url}"),
            )
            .await?;
            eprintln!(
                "已订阅 webhook {name} → {url}; signing secret (shown once, keep it secret):"
            );
            println!("{secret}");
        }
        WebhookCommand::List { district } => {
            let district = find_district(store, district.as_deref()).await?;
            for webhook in store.webhooks(district.path.id().into()).await? {
                println!(
                    "{}\t{}\t{}",
                    webhook.name,
                    webhook.url,
                    webhook.created_at.to_rfc3339()
                );
            }
        }
        WebhookCommand::Remove { name, district } => {
            let district = find_district(store, district.as_deref()).await?;
            let district_id = district.path.id().into();
            let name = name.trim().to_owned();
            store
                .delete_webhook(district_id, &name)
                .await
                .context("no subscription of that name in the district")?;
            audit_cli(
                store,
                district_id,
                "webhook.remove",
                ("webhook", name.clone()),
                name.clone(),
            )
            .await?;
            println!("已取消订阅 removed the webhook {name}");
        }
    }
    Ok(())
}
