"""jnr-video: numbers of the players in a match clip (tracker + the batched pipeline)."""
