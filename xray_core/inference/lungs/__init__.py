"""Lungs on a film: the U-Net's masks, their torch-free post-processing, and the lung crop the classifier sees.

* :mod:`~xray_core.inference.lungs.segment`: load the segmenter, segment films, score masks against references.
* :mod:`~xray_core.inference.lungs.masks`: probability → mask and the segmenter identity check (no torch).
* :mod:`~xray_core.inference.lungs.crop`: ``model_input``, the one place a film becomes the network's input.
"""
