//! Prints the OpenAPI spec generated from the code; `openapi/openapi.yaml` is its output.

fn main() {
    print!("{}", commonpot_api::startup::spec_yaml());
}
