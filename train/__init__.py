"""Training and evaluation: models are made here; jnr.export turns them into artifacts."""
