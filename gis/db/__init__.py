"""Database: the project-local cluster, engines and pools, models and migrations."""
