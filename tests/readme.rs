//! The README's column tables are generated from the one column table; this keeps them equal.
//! `UPDATE_README=1 cargo test --test readme` rewrites them after a change to `src/columns.rs`.

use streak_import::columns::{markdown_table, COLUMNS, PERIOD_COLUMNS};

fn check(readme: &mut String, marker: &str, table: String) -> bool {
    let start = format!("<!-- {marker}:start -->\n");
    let end = format!("<!-- {marker}:end -->");
    let (Some(a), Some(b)) = (readme.find(&start), readme.find(&end)) else {
        panic!("README.md lacks the markers {start:?} … {end:?}");
    };
    let current = &readme[a + start.len()..b];
    if current == table {
        return true;
    }
    readme.replace_range(a + start.len()..b, &table);
    false
}

#[test]
fn readme_column_tables_match_the_column_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let mut readme = std::fs::read_to_string(path).expect("README.md");
    let ok = check(&mut readme, "columns", markdown_table(COLUMNS))
        & check(
            &mut readme,
            "period-columns",
            markdown_table(PERIOD_COLUMNS),
        );
    if !ok {
        if std::env::var_os("UPDATE_README").is_some() {
            std::fs::write(path, readme).expect("write README.md");
        } else {
            panic!("README.md's column tables are out of date: run UPDATE_README=1 cargo test --test readme");
        }
    }
}
