"""From the PACS and back, over DICOMweb: worklists in, DICOM Structured Reports and heatmap captures out.

* :mod:`~xray_core.pacs.client`: QIDO-RS study lists (date, modality, scored by a model or not), WADO-RS retrieval
  as stored, STOW-RS (``dicomweb-client``).
* :mod:`~xray_core.pacs.sr` / :mod:`~xray_core.pacs.sr_read`: one film's report as a Comprehensive SR (highdicom),
  and read back; :mod:`~xray_core.pacs.capture`: the heatmap on the film as a derived secondary capture.
* :mod:`~xray_core.pacs.scoring`: one study retrieved, refused or scored, reported, stored and audited
  (:mod:`~xray_core.pacs.audit`); :mod:`~xray_core.pacs.identity`: item codes and series markers.
* :mod:`~xray_core.pacs.orthanc` / :mod:`~xray_core.pacs.loopback`: a private local Orthanc on 127.0.0.1 only;
  :mod:`~xray_core.pacs.demo`: DICOMs with fake headers for demos, benches and tests.

Names load on first use (:mod:`xray_core.lazy`).
"""

from xray_core.lazy import lazy_exports

_HOME = {
    "Pacs": "client",
    "StudyRow": "client",
    "connect": "client",
    "list_studies": "client",
    "build_sr": "sr",
    "read_sr": "sr_read",
    "build_capture": "capture",
    "score_study": "scoring",
}
__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)
