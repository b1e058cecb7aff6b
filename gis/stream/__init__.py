"""Beyond one process: the durable fix stream (Redis Streams), partitioned fence workers, shared state."""
