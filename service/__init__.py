"""The FastAPI service: sessions, live cues, summaries and exports (to come)."""
