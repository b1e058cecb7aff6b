"""GPS tracks: ingest (validation, storage, hand-off to the fence engine) and track queries."""
