//! The lock's text: a generated-file header, then `version`, then
//! `[[image]]`, `[[url]]` and `[[git]]` tables, each list sorted by its key
//! and every key in a fixed order, so that the same content always gives
//! the same bytes (and a small diff when one entry moves).

use super::HEADER_FIRST_LINE;
use super::model::Lock;

/// The format version this program writes and reads.
pub const VERSION: i64 = 1;

/// The lock as `stages lock` writes it.
pub fn render(lock: &Lock) -> String {
    let mut lock = lock.clone();
    lock.sort();
    let mut out = String::new();
    out.push_str(HEADER_FIRST_LINE);
    out.push('\n');
    out.push_str(
        "# It pins the images, URLs and git refs stages.toml reads; `stages build` uses it.\n\
         # Refresh it with `stages lock --update [IMAGE…]`.\n",
    );
    out.push_str(&format!("version = {VERSION}\n"));
    for image in &lock.images {
        out.push_str("\n[[image]]\n");
        out.push_str(&format!("reference = {}\n", quoted(&image.reference)));
        out.push_str(&format!("digest = {}\n", quoted(&image.digest)));
        if !image.platforms.is_empty() {
            let platforms: Vec<String> = image.platforms.iter().map(|p| quoted(p)).collect();
            out.push_str(&format!("platforms = [{}]\n", platforms.join(", ")));
        }
        if !image.manifests.is_empty() {
            let manifests: Vec<String> = image
                .manifests
                .iter()
                .map(|(platform, digest)| format!("{} = {}", quoted(platform), quoted(digest)))
                .collect();
            out.push_str(&format!("manifests = {{ {} }}\n", manifests.join(", ")));
        }
        out.push_str(&format!(
            "resolved-from = {}\n",
            quoted(image.resolution.as_str())
        ));
    }
    for url in &lock.urls {
        out.push_str("\n[[url]]\n");
        out.push_str(&format!("url = {}\n", quoted(&url.url)));
        out.push_str(&format!("checksum = {}\n", quoted(&url.checksum)));
    }
    for git in &lock.git {
        out.push_str("\n[[git]]\n");
        out.push_str(&format!("source = {}\n", quoted(&git.source)));
        out.push_str(&format!("commit = {}\n", quoted(&git.commit)));
    }
    out
}

/// A TOML basic string holding `text`, escaped as TOML requires.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
