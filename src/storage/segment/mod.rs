//! Segment files (being written).
