"""jnr as TrackLab modules, for SoccerNet game-state (GSR) pipelines (``pip install 'jnr[tracklab]'``).

- ``jnr.integrations.tracklab.modules.JnrJerseyNumber``: a detection-level module; each detection's crop
  through jnr's batched pipeline and engines -> ``jersey_number_detection``, ``jersey_number_confidence``
  (the columns sn-gamestate's MMOCR / EasyOCR modules write), plus where the reading sat (``jnr_where``) and
  whether a torso was found (``jnr_torso``), which jnr's decision reads.
- ``jnr.integrations.tracklab.modules.JnrTrackletNumber``: a video-level module; each track's detections ->
  ``jersey_number`` and ``jersey_number_track_confidence`` with jnr's decision (as jnr-run on that track's
  crops); other attributes (``role``) by TrackLab's majority vote, so it replaces ``tracklet_agg`` whole.
- ``jnr.integrations.tracklab.reference.EasyOCRJerseyNumber``: the reference the side-by-side compares with,
  built the way sn-gamestate's EasyOCR module works (EasyOCR on every detection, first numeric result).

Hydra configs for all three are in ``configs/`` (add ``pkg://jnr.integrations.tracklab.configs`` to Hydra's
search path); the runnable example is ``python -m jnr.integrations.tracklab CLIP.mp4 --engines engines/``.
``reading`` holds what does not need TrackLab (tested without it).
"""
