"""What an exported figure's size is: one column or a page wide, and the PNG's pixels per inch.

Its own module, below ``print_style`` (the layout) and ``print_kinds`` (what each kind changes), which both
read it: neither has to import the other to know the size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from explain.errors import InputError

FigureSize = Literal["column", "page"]
PX_PER_INCH = 96
#: One column of a two-column paper (ACL, NeurIPS: 3.25-3.3 in) and the full text width (about 7 in).
WIDTH_INCHES: dict[str, float] = {"column": 3.3, "page": 7.0}
#: Base font in px: 10 px is 7.5 pt on a 3.3-in column, 11 px 8.25 pt on a page; journals ask for 6-9 pt.
FONT_PX: dict[str, int] = {"column": 10, "page": 11}
DEFAULT_SCALE = 300 / PX_PER_INCH  # 300 dpi


@dataclass(frozen=True)
class FigureStyle:
    """How exported figures are laid out (recorded in the manifest)."""

    size: FigureSize = "column"  # "column" (3.3 in) or "page" (7 in)
    scale: float = DEFAULT_SCALE  # PNG pixels per figure unit (96 units per inch): 3.125 gives 300 dpi

    def __post_init__(self) -> None:
        if self.size not in WIDTH_INCHES:
            raise InputError(f"Unknown figure size '{self.size}'. Available: {', '.join(WIDTH_INCHES)}.")
        if not 0.25 <= self.scale <= 12:
            raise InputError(f"PNG scale {self.scale} is out of range: give 0.25 to 12 (3.125 is 300 dpi).")

    @property
    def width(self) -> int:
        return round(WIDTH_INCHES[self.size] * PX_PER_INCH)

    @property
    def font(self) -> int:
        return FONT_PX[self.size]

    @property
    def dpi(self) -> float:
        return PX_PER_INCH * self.scale

    def manifest(self) -> dict[str, Any]:
        return {"size": self.size, "width_inches": WIDTH_INCHES[self.size], "png_scale": self.scale,
                "png_dpi": round(self.dpi, 1), "vector_units": "px at 96 per inch"}  # fmt: skip
