//! dynalite harness (work in progress).
