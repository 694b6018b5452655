//! The permissions API client (work in progress).
