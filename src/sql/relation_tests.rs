//! Relation tests.
