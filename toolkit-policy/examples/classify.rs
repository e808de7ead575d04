//! Classifies each line of standard input as shell (or `--kind kubectl|sql|mysql`) and prints
//! its class and reasons: `echo 'ls -la' | cargo run -p toolkit-policy --example classify`.

use std::io::BufRead;

use toolkit_policy::{CommandKind, SqlDialect, classify};

fn main() {
    let kind = match std::env::args().nth(2).as_deref() {
        Some("kubectl") => CommandKind::Kubectl,
        Some("sql") => CommandKind::Sql(SqlDialect::Postgres),
        Some("mysql") => CommandKind::Sql(SqlDialect::MySql),
        _ => CommandKind::Shell,
    };
    let verbose = std::env::var_os("VERBOSE").is_some();
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let v = classify(kind, &line);
        println!("{}\t{line}", v.class);
        if verbose {
            for r in &v.reasons {
                println!("    {r}");
            }
        }
    }
}
