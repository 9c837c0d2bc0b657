"""JetBackup 5 API: argv builders, response parsers, status enums, client."""
