"""Presentation mode (``?present=1``, a switch in the sidebar): what changes when a teacher projects the app.
No streamlit.

The shell shows each lesson's short intro (the teacher talks over it; the full text stays one click away) and a QR
code of the page's link, so students open the same experiment on their phones. The QR code is drawn here, on the
server: nothing is requested from another host.
"""
import io
from urllib.parse import urlencode, urlsplit

import segno

# Lesson key (lab/shell.py LESSONS) -> the short intro shown in presentation mode; a lesson without one shows its
# full intro.
SHORT_INTROS = {
    "home": "present.home",
    "inputs": "present.inputs",
    "saturation": "present.saturation",
    "ics": "present.ics",
    "gamma_beta": "present.gamma_beta",
    "inference": "present.inference",
    "beyond": "present.beyond",
    "playground": "present.playground",
}
FIGURE_SCALE = 1.35  # chart text, lines and markers on a projector (lab/figures/common.py projector)
STUDENT_DROPS = ("present",)  # the students' link opens the same page, not in presentation mode
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def student_link(base, query):
    """The link students open: the page at ``base`` (the browser's address without its query, or None when unknown)
    with the ``query`` mapping of strings, presentation mode left out. None without a base."""
    if not base:
        return None
    query = {name: value for name, value in query.items() if name not in STUDENT_DROPS}
    return f"{base}?{urlencode(query)}" if query else base


def is_local(link):
    """True when the link's host exists only on the teacher's machine (a phone cannot open it)."""
    return urlsplit(link).hostname in LOCAL_HOSTS


def qr_png(text, scale=8):
    """A QR code of ``text`` as PNG bytes (error correction M: it still reads from a projected, blurry screen)."""
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
