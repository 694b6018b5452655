//! fake Lambda Runtime API (work in progress).
