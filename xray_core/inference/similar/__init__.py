"""Similar cases: training films nearest to a new film in the model's feature space.

* :mod:`~xray_core.inference.similar.search`: build or load the index of a checkpoint and query it.
* :mod:`~xray_core.inference.similar.store`: the index file on disk, keyed to the checkpoint and checked.
"""
