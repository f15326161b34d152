//! Value encodings (being written).
