//! The ARGs a build knows without a declaration, as BuildKit defines them.

/// The proxy settings: handed to RUN steps, never in the image.
pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The platform args stages gives a value, for the platform built and the
/// one building.
pub const PLATFORM_ARGS: &[&str] = &[
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// Whether `name` is a proxy or platform arg.
pub fn is_predefined(name: &str) -> bool {
    PROXY_ARGS.contains(&name) || PLATFORM_ARGS.contains(&name)
}
