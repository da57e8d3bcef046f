"""jnr inside other frameworks' pipelines (jnr.integrations.tracklab: TrackLab / SoccerNet game-state)."""
