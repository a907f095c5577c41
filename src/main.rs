//! The `kubesim` binary: parse arguments, hand over to the library, map the outcome to an exit
//! code (0 ok, 1 expectation failed or invariant violated, 2 usage or input error).

fn main() {
    std::process::exit(kubesim::cli::main());
}
