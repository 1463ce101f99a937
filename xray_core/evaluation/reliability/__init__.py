"""The reliability report: photos, generated images, hostile files, forged files and test films thrown at the model.

* :mod:`~xray_core.evaluation.reliability.report`: run every family and count outcomes (``run_report``).
* Inputs: :mod:`~.inputs` (all families), :mod:`~.files` (encoders), :mod:`~.photos`, :mod:`~.generated`,
  :mod:`~.hostile`; integrity probes: :mod:`~.integrity` over :mod:`~.forgeries`.
* :mod:`~xray_core.evaluation.reliability.table`: the report as a Markdown table.
"""
