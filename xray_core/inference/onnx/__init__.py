"""The torch-free fast path: verified ONNX exports of the classifier and the lung segmenter, and the engine.

* :mod:`~xray_core.inference.onnx.export` / :mod:`~xray_core.inference.onnx.segmenter_export`: write and verify
  an export keyed to its checkpoint; :mod:`~xray_core.inference.onnx.writer`: the one atomic writer of graphs;
  :mod:`~xray_core.inference.onnx.records`: what an export records about its source.
* :mod:`~xray_core.inference.onnx.engine`: ``OnnxModel``, a scoring model with the torch model's interface;
  :mod:`~xray_core.inference.onnx.segmenter`: the lung U-Net on ONNX Runtime for cropping checkpoints.
"""
