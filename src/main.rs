//! The `audb` command line: a thin shell over the library.

fn main() {
    println!("audb {}", env!("CARGO_PKG_VERSION"));
}
