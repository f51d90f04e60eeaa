import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk_devices.printer import commands
from kiosk_devices.printer.charset import printable
from kiosk_devices.printer.encoder import encode_receipt, plan, render_receipt_text
from kiosk_devices.printer.profile import CodePage, PrinterProfile
from shared.receipts.layout import (
    Align,
    Blank,
    Columns,
    QrCode,
    ReceiptLayout,
    Rule,
    Text,
    render_text,
    wrap,
)

from .conftest import RECEIPT_URL, french_receipt, spanish_receipt
from .emulator import Cut, EscPosEmulator, PrintedQr

PROFILES = [PrinterProfile(width=width, code_page=page) for width in (42, 48) for page in CodePage]


def printed(layout: ReceiptLayout, profile: PrinterProfile) -> EscPosEmulator:
    emulator = EscPosEmulator(profile.width)
    emulator.receive(encode_receipt(layout, profile))
    assert emulator.unknown == []
    assert emulator.auto_wraps == 0
    return emulator


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: f"{p.width}-{p.code_page}")
@pytest.mark.parametrize("layout", [french_receipt(), spanish_receipt()], ids=["fr", "es"])
def test_printed_text_matches_the_plain_text_rendering(
    layout: ReceiptLayout, profile: PrinterProfile
) -> None:
    no_qr = PrinterProfile(profile.width, profile.code_page, qr=False)
    assert printed(layout, no_qr).page() == [*render_text(layout, profile.width), "[CUT]"]


@pytest.mark.parametrize("page", list(CodePage))
def test_french_and_spanish_accents_decode_through_the_code_page(page: CodePage) -> None:
    profile = PrinterProfile(code_page=page)
    text = "\n".join(printed(french_receipt(), profile).page())
    text += "\n".join(printed(spanish_receipt(), profile).page())
    for word in ("Sète", "Reçu", "enlèvement", "Accès à la médiathèque", "payé", "€"):
        assert word in text
    for word in ("Logroño", "¡Gracias por su pago!", "año", "¿Preguntas?", "Diríjase"):
        assert word in text
    assert "?" not in text.replace("¿Preguntas?", "").replace(RECEIPT_URL, "")


def test_code_page_is_selected_after_the_reset() -> None:
    job = encode_receipt(french_receipt(), PrinterProfile(code_page=CodePage.CP1252))
    assert job.startswith(commands.initialize() + commands.code_page(16))


@pytest.mark.parametrize("width", [42, 48])
def test_columns_fill_the_width_with_the_amount_right_aligned(width: int) -> None:
    lines = printed(french_receipt(), PrinterProfile(width=width)).lines()
    total = next(line for line in lines if line.text.startswith("Total payé"))
    assert len(total.text) == width
    assert total.text.endswith(" 57,50 €")
    amounts = [line.text for line in lines if line.text.endswith("€")]
    assert {len(text) for text in amounts} == {width}
    assert all(len(line.laid_out(width)) <= width for line in lines)


def test_long_labels_wrap_and_keep_the_amount_on_the_last_line() -> None:
    layout = ReceiptLayout(
        (Columns("Participation aux frais de restauration scolaire", "1 234,50 €"),)
    )
    lines = [line.text for line in printed(layout, PrinterProfile(width=42)).lines()]
    assert lines == [
        "Participation aux frais de",
        "restauration scolaire".ljust(31) + " 1 234,50 €",
    ]


def test_totals_are_bold_and_only_totals() -> None:
    lines = printed(french_receipt(), PrinterProfile()).lines()
    bold = {line.text.split()[0] for line in lines if line.bold}
    assert bold == {"Mairie", "Total"}


def test_large_text_is_double_size_and_wraps_at_half_the_width() -> None:
    layout = ReceiptLayout((Text("Merci de votre visite à la mairie", Align.CENTER, large=True),))
    lines = printed(layout, PrinterProfile(width=42)).lines()
    assert [line.text for line in lines] == ["Merci de votre visite", "à la mairie"]
    assert all(line.large and line.align is Align.CENTER for line in lines)
    assert lines[0].laid_out(42) == "Merci de votre visite"
    assert lines[1].laid_out(42) == "à la mairie".center(21).rstrip()


def test_size_returns_to_normal_after_large_text() -> None:
    layout = ReceiptLayout((Text("TOTAL", large=True), Text("after")))
    lines = printed(layout, PrinterProfile()).lines()
    assert [(line.text, line.large) for line in lines] == [("TOTAL", True), ("after", False)]


def test_alignment_is_applied_per_line() -> None:
    layout = ReceiptLayout(
        (Text("left"), Text("mid", Align.CENTER), Text("right", Align.RIGHT), Text("again"))
    )
    page = printed(layout, PrinterProfile(width=48)).page()
    assert page[:4] == ["left", "mid".center(48).rstrip(), "right".rjust(48), "again"]


def test_qr_commands_carry_the_url_and_the_printer_prints_the_symbol() -> None:
    emulator = printed(french_receipt(), PrinterProfile(qr=True))
    assert emulator.qr_codes() == [PrintedQr(RECEIPT_URL.encode(), 50, 6, 49)]
    job = encode_receipt(french_receipt(), PrinterProfile(qr=True))
    assert commands.qr_store(RECEIPT_URL.encode()) + commands.qr_print() in job
    page = emulator.page()
    assert page[-3:] == ["Vérifiez ce reçu :", f"[QR] {RECEIPT_URL}", "[CUT]"]
    assert RECEIPT_URL not in page


def test_without_qr_support_the_url_prints_as_text() -> None:
    emulator = printed(french_receipt(), PrinterProfile(qr=False))
    assert emulator.qr_codes() == []
    assert b"\x1d(k" not in encode_receipt(french_receipt(), PrinterProfile(qr=False))
    assert emulator.page()[-3:-1] == wrap(RECEIPT_URL, 42)


def test_data_too_long_for_a_symbol_prints_as_text() -> None:
    layout = ReceiptLayout((QrCode("x" * (commands.QR_MAX_BYTES + 1)),))
    assert printed(layout, PrinterProfile(qr=True)).qr_codes() == []


def test_job_ends_with_a_cut() -> None:
    emulator = printed(spanish_receipt(), PrinterProfile(cutter=True))
    assert emulator.paper[-1] == Cut(partial=False)
    assert emulator.cuts() == 1


def test_without_a_cutter_the_paper_feeds_past_the_tear_bar() -> None:
    job = encode_receipt(spanish_receipt(), PrinterProfile(cutter=False))
    assert b"\x1dV" not in job
    assert job.endswith(commands.feed(4))


def test_rule_with_a_character_the_page_lacks_prints_dashes() -> None:
    layout = ReceiptLayout((Rule("═"), Rule("─")))
    lines = plan(layout, PrinterProfile(width=42, code_page=CodePage.CP1252))
    assert [line.text for line in lines] == ["-" * 42, "-" * 42]  # type: ignore[union-attr]


def test_missing_characters_keep_columns_aligned() -> None:
    # Spelled-out characters are longer ("Œ" → "OE"): columns are padded after mapping.
    layout = ReceiptLayout((Columns("Œuvre ő 中文 — …", "10,00 €", bold=True),))
    line = printed(layout, PrinterProfile(code_page=CodePage.CP858)).lines()[0]
    assert line.text == "OEuvre o ?? - ...".ljust(34) + " 10,00 €"


def test_rule_of_a_spelled_out_character_stays_one_line() -> None:
    lines = plan(ReceiptLayout((Rule("…"),)), PrinterProfile(width=42))
    assert [line.text for line in lines] == ["." * 42]  # type: ignore[union-attr]


def test_text_rendering_shows_the_symbol_and_centres_large_text() -> None:
    layout = ReceiptLayout(
        (Text("Reçu", Align.CENTER, large=True), Blank(), QrCode("https://x.example"))
    )
    assert render_receipt_text(layout, PrinterProfile(width=42)) == [
        " " * 17 + "Reçu",
        "",
        "[QR]".center(42).rstrip(),
        "https://x.example".center(42).rstrip(),
    ]


blocks = st.one_of(
    st.builds(Text, st.text(min_size=0, max_size=120), st.sampled_from(list(Align)), st.booleans()),
    st.builds(Columns, st.text(max_size=80), st.text(max_size=20), st.booleans()),
    st.builds(Rule, st.sampled_from(["-", "=", "*"])),
    st.builds(Blank),
)


@given(st.lists(blocks, max_size=8), st.sampled_from(PROFILES))
def test_any_layout_prints_like_its_text_rendering(
    blocks: list[Text | Columns | Rule | Blank], profile: PrinterProfile
) -> None:
    layout = ReceiptLayout(tuple(blocks))
    mapped = ReceiptLayout(tuple(_mapped(block, profile.code_page) for block in blocks))
    assert printed(layout, profile).page() == [*render_text(mapped, profile.width), "[CUT]"]


def _mapped(block: Text | Columns | Rule | Blank, page: CodePage) -> Text | Columns | Rule | Blank:
    match block:
        case Text(text=text, align=align, bold=bold):
            return Text(printable(text, page), align, bold)
        case Columns(left=left, right=right, bold=bold):
            return Columns(printable(left, page), printable(right, page), bold)
    return block
