"""The catalogue of known mistakes, one module per topic: each entry recognised from the evidence of one
case (catalogue.py says what an entry is), and what to tell the student.

A part's ``mistakes:`` in the case table names entries of ``MISTAKES``, most specific first. A wrong value
is tested against every entry of its part's list: the one whose evidence holds is named; when two hold (the same
value or the same wrong shape) both are candidates, and the grader lets another case of the part that tells them
apart decide (grading/diagnosis.py). A case diagnoses its first wrong value only, so a consequence of a forward
mistake is not diagnosed again in the gradient.

Every module of this package but catalogue.py is a topic: its entries are collected here, so a new topic is
a new file and a new mistake is one entry in a topic, its name in the part's ``mistakes:`` list, and a
mutant in tests/mutants/ whose ``NAMED`` proves that a visible case names it. (Topics import catalogue.py;
nothing imports a topic but this collection: there is no cycle.)
"""

import importlib
import pkgutil

from .catalogue import Mistake, close
from .catalogue import diagnose as _diagnose

TOPICS = tuple(importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
               if m.name != "catalogue")


def _collect(topics):
    found = {}
    for topic in topics:
        for entry in vars(topic).values():
            if isinstance(entry, Mistake):
                if entry.name in found and found[entry.name] is not entry:
                    raise ValueError(f"mistake {entry.name!r} is defined twice ({topic.__name__})")
                found[entry.name] = entry
    return found


MISTAKES = _collect(TOPICS)


def diagnose(names, run, value_name, got):
    """The Diagnosis of ``got`` (catalogue.diagnose): the mistakes among ``names`` whose evidence holds (one, or
    candidates the case cannot tell apart), the general advice that applies, and what held for each."""
    return _diagnose(MISTAKES, names, run, value_name, got)


__all__ = ["MISTAKES", "Mistake", "close", "diagnose"]
