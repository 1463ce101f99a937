"""``render_pdf(content) -> bytes``: one A4 page (two when similar cases overflow) over fpdf2's core fonts.

Layout, top to bottom: title and the disclaimer; the model's identity, date and (if given) file name; the film
and the heatmap with the lung outline side by side; the result and every decision; the probabilities; similar
cases with thumbnails; the disclaimer again at the foot of every page.
"""

from __future__ import annotations

import numpy as np
from fpdf import FPDF
from PIL import Image

from xray_core.config import CLASS_COLORS
from xray_core.inference.results import percentages
from xray_core.inference.similar.search import summary
from xray_core.inference.wording import DISCLAIMER, DISCLAIMER_DETAIL, DISCLAIMER_SHORT, latin1, pdf_safe
from xray_core.report.content import ReportContent
from xray_core.report.words import label_title, similar_summary

WIDTH = 186  # mm of text width on A4 with 12 mm margins
IMAGE_BOX = 88  # mm: each of the two side-by-side images fits in a square this size
THUMB = 28  # mm: similar-case thumbnails


class _Page(FPDF):
    def footer(self) -> None:  # fpdf2 calls this on every page
        self.set_y(-14)
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, latin1(f"{DISCLAIMER_SHORT} Page {self.page_no()}/{{nb}}"), align="C")


def _text(pdf: FPDF, text: str, size: float = 10, style: str = "", height: float = 5, rgb=(0, 0, 0)) -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.set_text_color(*rgb)
    pdf.multi_cell(WIDTH, height, latin1(text), new_x="LMARGIN", new_y="NEXT")


def _image(pdf: FPDF, pixels: np.ndarray, x: float, y: float, box: float) -> float:
    """Place ``pixels`` inside a ``box`` mm square at (x, y), aspect kept; returns its height in mm."""
    height, width = pixels.shape[:2]
    scale = box / max(height, width)
    pdf.image(Image.fromarray(pixels), x=x, y=y, w=width * scale, h=height * scale)
    return height * scale


def _header(pdf: FPDF, content: ReportContent) -> None:
    _text(pdf, "Chest X-ray decision-support report", 16, "B", 8)
    _text(pdf, f"{DISCLAIMER} {DISCLAIMER_DETAIL}", 9, "B", 4.5, (170, 30, 30))
    model = content.model
    lines = [
        f"Date: {content.created.strftime('%Y-%m-%d %H:%M UTC')}",
        f"Model: version {model.get('version')} - {model.get('arch')} at {model.get('image_size')} px - "
        f"temperature {model.get('temperature'):.3g}" + ("" if model.get("trained") else " - UNTRAINED"),
        f"Weights SHA-256: {model.get('sha256')}",
    ]
    if content.file_name:
        lines.insert(1, f"File: {content.file_name}")
    pdf.ln(1)
    _text(pdf, "\n".join(lines), 8.5, "", 4.2, (60, 60, 60))


def _images(pdf: FPDF, content: ReportContent) -> None:
    top, left = pdf.get_y() + 2, pdf.l_margin
    heights = [_image(pdf, content.film, left, top, IMAGE_BOX)]
    if content.heatmap is not None:
        heights.append(_image(pdf, content.heatmap, left + IMAGE_BOX + 10, top, IMAGE_BOX))
    pdf.set_y(top + max(heights) + 1)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(60, 60, 60)
    pdf.cell(IMAGE_BOX + 10, 4, "The film")
    heat = content.heatmap_note + (f" {content.lungs_note}" if content.lungs_note else "")
    pdf.multi_cell(IMAGE_BOX, 4, latin1(heat), new_x="LMARGIN", new_y="NEXT")


def _result(pdf: FPDF, content: ReportContent) -> None:
    prediction = content.prediction
    shares = percentages(prediction.probabilities)
    pdf.ln(2)
    if prediction.refused:
        _text(pdf, "REFUSED: this input does not look like a frontal chest radiograph.", 12, "B", 6, (170, 30, 30))
    else:
        top = f"{label_title(prediction.label)} ({shares[prediction.label]:.1f} %)"
        _text(pdf, f"Most similar to: {top}", 12, "B", 6)
    decisions = [*prediction.decisions, *(content.lungs.decisions if content.lungs is not None else ())]
    for decision in decisions:
        colour = (170, 30, 30) if decision.refuses else (150, 90, 0)
        sentence = pdf_safe(decision, prediction.label, prediction.age_group_estimate)
        _text(pdf, f"- [{decision.code}] {sentence}", 9, "", 4.5, colour)
    if not decisions:
        _text(pdf, "No refusal and no warning.", 9, "", 4.5, (60, 60, 60))
    pdf.ln(1)
    note = " (input refused: shown for the record only, not reliable)" if prediction.refused else ""
    _text(pdf, f"Calibrated probabilities{note}", 10, "B", 5)
    for name, share in shares.items():
        _bar(pdf, label_title(name), share, CLASS_COLORS.get(name, "#888888"))


def _bar(pdf: FPDF, title: str, share: float, colour: str) -> None:
    pdf.set_font("Helvetica", "", 9)
    pdf.set_text_color(0, 0, 0)
    pdf.cell(48, 5, latin1(title))
    pdf.cell(18, 5, f"{share:.1f} %", align="R")
    x, y = pdf.get_x() + 3, pdf.get_y() + 1
    pdf.set_fill_color(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))
    pdf.rect(x, y, max(0.2, 100 * share / 100), 3, style="F")
    pdf.ln(5)


def _similar(pdf: FPDF, content: ReportContent) -> None:
    pdf.ln(2)
    _text(pdf, "Similar training films (model feature space, cosine distance)", 10, "B", 5)
    if not content.similar:
        _text(pdf, content.similar_note or "No similar cases.", 9, "", 4.5, (60, 60, 60))
        return
    _text(pdf, similar_summary(summary(content.similar)), 9, "", 4.5)
    if pdf.get_y() + THUMB + 14 > pdf.h - pdf.b_margin:
        pdf.add_page()
    top, step = pdf.get_y() + 1, WIDTH / max(6, len(content.similar))
    for column, (case, thumb) in enumerate(zip(content.similar, content.thumbnails)):
        x = pdf.l_margin + column * step
        _image(pdf, thumb, x, top, THUMB)
        pdf.set_xy(x, top + THUMB + 1)
        pdf.set_font("Helvetica", "", 6.5)
        caption = f"{label_title(case.label)}\n{case.age_group or 'age ?'} - d {case.distance:.3f}\n{case.source}"
        pdf.multi_cell(step - 1, 3, latin1(caption))
    pdf.set_y(top + THUMB + 12)


def render_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes (text is real text: ``pdftotext`` finds the probabilities and the disclaimer)."""
    pdf = _Page(format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title("Chest X-ray decision-support report")
    pdf.set_creator("xray_core")
    pdf.add_page()
    _header(pdf, content)
    _images(pdf, content)
    _result(pdf, content)
    _similar(pdf, content)
    return bytes(pdf.output())


__all__ = ["render_pdf"]
