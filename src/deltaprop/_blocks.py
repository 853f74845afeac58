"""The format-neutral pieces explain's renderers build pages from: inline parts and blocks.

Inline parts are prose (``Txt``), math text (plain ``str``, Unicode), symbols in the textbook's
notation (``Sym``: w_jk^l and friends), formatted numbers (``Num``), names (``Code``), math with a
LaTeX spelling of its own (``Alt``) and a part's formula (``Formula``). Blocks are headings
(``H``), paragraphs (``P``) and tables (``Table``). ``deltaprop._render`` writes them in each
format; ``deltaprop._matrix`` builds its equations from them too, which is why they sit here,
below both.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Sym", "Num", "Txt", "Code", "Alt", "Formula", "H", "P", "Table"]


# ---------------------------------------------------------------------------- inline parts
@dataclass(frozen=True)
class Sym:
    """A symbol with optional superscript and subscript: Sym("w", "2", "12") is w_12^2."""

    base: str
    sup: str = ""
    sub: str = ""

    def __post_init__(self):
        object.__setattr__(self, "sup", str(self.sup))
        object.__setattr__(self, "sub", str(self.sub))


@dataclass(frozen=True)
class Num:
    """A number already formatted."""

    text: str


@dataclass(frozen=True)
class Txt:
    """Prose (LaTeX writes it in text mode)."""

    text: str


@dataclass(frozen=True)
class Code:
    """A name such as a loss or activation (monospace where the format has it)."""

    text: str


@dataclass(frozen=True)
class Alt:
    """Math with a LaTeX spelling of its own: Alt("ln", r"\\ln")."""

    text: str
    latex: str


@dataclass(frozen=True)
class Formula:
    """A part's formula: inline parts parsed from its markup, and its own LaTeX ("" if none)."""

    parts: tuple
    latex: str = ""


# ---------------------------------------------------------------------------- blocks
@dataclass
class H:
    level: int
    parts: list


@dataclass
class P:
    parts: list


@dataclass
class Table:
    headers: list
    rows: list
    align: str  # one letter per column: l(eft), r(ight) or w(ide, wraps)
