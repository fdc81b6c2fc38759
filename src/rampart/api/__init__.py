"""The HTTP API (FastAPI, served by uvicorn in the service event loop)."""
