"""SQL shipped with the package (migrations keep their DDL as plain .sql files)."""

from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


def read_sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")
