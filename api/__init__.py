"""The HTTP layer: FastAPI application, routers per capability, OGC API, auth and error mapping."""
