"""jnr: fast football jersey number recognition (SoccerNet jersey-2023)."""

__version__ = "0.1.0"
