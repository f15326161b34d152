//! Bit-sliced index algorithms (being written).
