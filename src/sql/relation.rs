//! The relational layer (being written).
