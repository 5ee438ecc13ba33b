"""Student-derived text on its way to a terminal, results.json or a staff log.

Everything a submission can influence (file and zip-entry names, what its code
printed, exception texts, type names) goes through one of these before it is
shown: ``compare.sanitize`` (no escapes, no control characters, capped), no
bidirectional-override characters, and for rich's console ``escape`` of
anything that looks like markup. (Printed output is fenced by feedback.py: a bar
before every line in the terminal, a code fence it cannot close on Gradescope.)
"""

import re

from rich.markup import escape

from .compare import sanitize

# U+202A..U+202E and U+2066..U+2069 reorder what follows on screen; U+200E/F, U+061C mark direction.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean(text, limit=1500):
    """Printable text, newlines kept."""
    return _BIDI.sub("?", sanitize(text, limit))


def one_line(text, limit=300):
    """Printable text on one line (a name, a note): newlines and tabs become visible marks."""
    text = clean(text, limit)
    return text.replace("\r", " ").replace("\n", " \u23ce ").replace("\t", " ")


def markup(text, limit=300):
    """One line, safe inside rich markup (``[/oops]`` in a file name prints as it is)."""
    return escape(one_line(text, limit))


