//! One-off commands: `switchboard migrate` and `switchboard org create NAME`.

use crate::config::Settings;
use crate::db;
use crate::db::writer::Writer;

/// Runs the migrations of the configured database.
pub fn migrate(settings: &Settings) -> Result<(), String> {
    let mut conn = db::connect(&settings.database_url, settings.sqlite_sync)
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db::run_migrations(&mut conn)?;
    println!("{}", serde_json::json!({"status": "migrated"}));
    Ok(())
}

/// Creates an org through the writer (as the server would) and prints it with its tokens.
pub fn create_org(settings: &Settings, name: &str) -> Result<(), String> {
    let mut conn = db::connect(&settings.database_url, settings.sqlite_sync)
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db::run_migrations(&mut conn)?;
    let writer = Writer::start(
        conn,
        settings.database_url.clone(),
        settings.sqlite_sync,
        1,
        Box::new(|_, _| {}),
        Default::default(),
    );
    let created = actix_web::rt::System::new()
        .block_on(crate::engine::orgs::create(
            &writer,
            name,
            &settings.default_country,
        ))
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&created).map_err(|e| e.to_string())?
    );
    Ok(())
}
