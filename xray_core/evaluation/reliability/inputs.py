"""The inputs the reliability report and the hostile-input tests throw at the reader, the model and Grad-CAM.

Every case is a file as a user would upload it: a name (its extension matters) and bytes. Families, one module
each:

* ``natural photos``: the photographs bundled with scikit-image, scikit-learn and matplotlib, made grayscale;
  ``other non-radiographs``: microscopy, a fundus photo, a CT phantom, logos and synthetic figures
  (:mod:`~xray_core.evaluation.reliability.photos`).
* ``generated``: noise, constant and gradient images (:mod:`~xray_core.evaluation.reliability.generated`).
* ``hostile files``: corrupt, truncated, bit-flipped, renamed, degenerate and oversized files (>= 200)
  (:mod:`~xray_core.evaluation.reliability.hostile`).

The :class:`Case` record and the encoders are in :mod:`~xray_core.evaluation.reliability.files`. Everything is
generated in memory from fixed seeds: nothing is downloaded, nothing is written to disk. This module gathers the
public names so callers have one import.
"""

__all__ = []
