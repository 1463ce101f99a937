"""One film's report: what the model said and how far to trust it, assembled as data and rendered to PDF.

* :mod:`~xray_core.report.content`: ``build_report(loaded, image, ...) -> ReportContent`` (film, heatmap with the
  lung outline, probabilities, every decision, similar cases, model identity, date; no patient data).
* :mod:`~xray_core.report.words`: summaries and the disclaimer worded for print (decisions: ``inference.wording``).
* :mod:`~xray_core.report.pdf`: ``render_pdf(content) -> bytes`` over fpdf2.

Names load on first use (:mod:`xray_core.lazy`): the names of the modules below, each module's ``__all__``.
"""

from xray_core.lazy import lazy_exports

_MODULES = ("words", "content", "pdf")
__getattr__, __dir__ = lazy_exports(__name__, modules=_MODULES)
