//! Vertex names as a standalone daemon's Dockerfile frontend writes them,
//! made into the `[stage n/m] TEXT` form the status tracker reads. A newer
//! frontend than the Engine's leaves out the name of an unnamed stage
//! (`[2/3] RUN …`, the exported Dockerfile's single target stage) and puts
//! the platform first when several were asked (`[linux/arm64 app 2/3] …`).

/// `name` with the stage filled in (`stage`: the target's stage, the one
/// an unnamed vertex belongs to) and any platform removed.
pub fn normalise_vertex_name(name: &str, stage: &str) -> String {
    let Some(rest) = name.strip_prefix('[') else {
        return name.to_owned();
    };
    let Some((head, text)) = rest.split_once("] ") else {
        return name.to_owned();
    };
    let mut words: Vec<&str> = head.split(' ').collect();
    let Some(counts) = words.pop() else {
        return name.to_owned();
    };
    let is_count = counts
        .split_once('/')
        .is_some_and(|(a, b)| a.parse::<usize>().is_ok() && b.parse::<usize>().is_ok());
    if !is_count {
        return name.to_owned();
    }
    if words.first().is_some_and(|w| w.contains('/')) {
        words.remove(0);
    }
    let stage_name = if words.is_empty() {
        stage.to_owned()
    } else {
        words.join(" ")
    };
    format!("[{stage_name} {counts}] {text}")
}

#[cfg(test)]
mod tests {
    use super::normalise_vertex_name;

    #[test]
    fn unnamed_stages_and_platforms_are_normalised() {
        assert_eq!(
            normalise_vertex_name("[2/3] RUN echo hi", "app"),
            "[app 2/3] RUN echo hi"
        );
        assert_eq!(
            normalise_vertex_name("[build 1/2] FROM busybox", "app"),
            "[build 1/2] FROM busybox"
        );
        assert_eq!(
            normalise_vertex_name("[linux/arm64 build 2/2] COPY a /a", "app"),
            "[build 2/2] COPY a /a"
        );
        assert_eq!(
            normalise_vertex_name("[linux/amd64 1/2] FROM busybox", "app"),
            "[app 1/2] FROM busybox"
        );
        assert_eq!(
            normalise_vertex_name("[internal] load build context", "app"),
            "[internal] load build context"
        );
        assert_eq!(
            normalise_vertex_name("exporting to image", "app"),
            "exporting to image"
        );
    }
}
