"""The tables a test empties to start from a known state."""

from __future__ import annotations

from gis import catalog

#: Every catalog layer's table and the data tables no layer publishes (reference data and the
#: append-only audit log stay).
DATA_TABLES = [*catalog.tables(), "positions", "eval_draws", "dataset_meta", "shop_evaluations", "eval_sample_draws",
               "ogc_jobs", "webhook_subscriptions", "scenes"]
