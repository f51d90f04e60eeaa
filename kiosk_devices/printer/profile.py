"""What a particular receipt printer can do: columns, code page, QR, cutter."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CodePage(StrEnum):
    """Character tables the kiosk printers are set to; the value is Python's codec name."""

    CP858 = "cp858"
    CP1252 = "cp1252"

    @property
    def escpos_table(self) -> int:
        """The `n` of ESC t n that selects this table on Epson-compatible printers."""
        return _ESC_T[self]


_ESC_T = {CodePage.CP858: 19, CodePage.CP1252: 16}

SUPPORTED_WIDTHS = (42, 48)


@dataclass(frozen=True, slots=True)
class PrinterProfile:
    """A printer model's capabilities, chosen in the kiosk's settings.

    `width` is the Font A column count: 48 on 80 mm paper, 42 on printers set
    to 512 dots or with wider characters. `confirm_print` asks the printer to
    answer once it has printed everything (GS r 1); turn it off only for
    clones that do not implement GS r, at the cost of weaker failure detection.
    """

    width: int = 42
    code_page: CodePage = CodePage.CP858
    qr: bool = True
    cutter: bool = True
    qr_module_size: int = 6
    confirm_print: bool = True

    def __post_init__(self) -> None:
        # A settings string ("cp1252") is accepted as its CodePage; anything else is
        # refused here rather than failing at the first print.
        if not isinstance(self.code_page, CodePage):
            try:
                page = CodePage(str(self.code_page).strip().lower())
            except ValueError:
                supported = ", ".join(page.value for page in CodePage)
                raise ValueError(
                    f"code_page must be one of {supported}, not {self.code_page!r}"
                ) from None
            object.__setattr__(self, "code_page", page)
        if self.width not in SUPPORTED_WIDTHS:
            raise ValueError(f"width must be one of {SUPPORTED_WIDTHS}, not {self.width}")
        if not 1 <= self.qr_module_size <= 16:
            raise ValueError(f"qr_module_size must be 1..16, not {self.qr_module_size}")
