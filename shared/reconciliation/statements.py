"""Reading bank statement files: BAI2 (the `bai2` package) and camt.053 (defusedxml).

Both parsers return plain `Statement` values, or raise `StatementFileError` saying where
(a line number, or an XML path) and why. Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

import bai2.exceptions
import bai2.helpers
import bai2.parsers
from bai2.constants import TypeCodeTransaction
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from shared.models import StatementFormat

MOST_BYTES = 20_000_000


class StatementFileError(ValueError):
    """The file is refused: `where` (line N, or an XML path) and `reason`."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


@dataclass(frozen=True, slots=True)
class Line:
    line_no: int
    booking_date: dt.date
    amount: int  # minor units; credits positive, debits negative
    type_code: str
    bank_reference: str = ""
    customer_reference: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Statement:
    statement_id: str
    account: str
    currency: str
    statement_date: dt.date
    lines: list[Line] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatementFile:
    format: StatementFormat
    sha256: str
    statements: list[Statement]


def read(data: bytes) -> StatementFile:
    """Parse a statement file, recognising its format by its first bytes."""
    if len(data) > MOST_BYTES:
        raise StatementFileError("file", "larger than 20 MB")
    if not data.strip():
        raise StatementFileError("file", "the file is empty")
    sha = hashlib.sha256(data).hexdigest()
    head = data.lstrip()[:5]
    if head.startswith(b"<"):
        return StatementFile(StatementFormat.CAMT053, sha, read_camt053(data))
    if head.startswith(b"01,"):
        return StatementFile(StatementFormat.BAI2, sha, read_bai2(data))
    raise StatementFileError("line 1", "neither a BAI2 file (01 record) nor camt.053 XML")


# -- BAI2 ------------------------------------------------------------------------------

_RECORD = re.compile(r"^(01|02|03|16|49|88|98|99),")


class _Records(bai2.helpers.IteratorHelper):  # type: ignore[misc]
    """The package's record iterator, counting records so an error can name its line."""

    def __init__(self, lines: list[str]) -> None:
        self.index = -1
        self.ended = False
        super().__init__(iter(lines))

    def advance(self) -> None:
        try:
            super().advance()
        except StopIteration:
            self.ended = True
            raise
        self.index += 1


def read_bai2(data: bytes) -> list[Statement]:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StatementFileError(f"line {line}", "not ASCII text") from None
    numbered = [(n, raw.strip()) for n, raw in enumerate(text.splitlines(), 1) if raw.strip()]
    starts: list[int] = []  # the file line where each record (with its 88s) starts
    for n, row in numbered:
        if not _RECORD.match(row):
            raise StatementFileError(f"line {n}", f"unknown record {row[:2]!r}")
        if row.startswith("88,"):
            if not starts:
                raise StatementFileError(f"line {n}", "a continuation (88) with nothing before it")
        else:
            starts.append(n)
    records = _Records([row for _, row in numbered])
    try:
        parsed = bai2.parsers.Bai2FileParser(records).parse()
    except bai2.exceptions.IntegrityException as error:
        # Totals are checked once the trailer is read: the record before the current one.
        index = records.index if records.ended else records.index - 1
        raise StatementFileError(_at(starts, index), str(error)) from None
    except (
        bai2.exceptions.ParsingException,
        bai2.exceptions.NotSupportedYetException,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
    ) as error:
        raise StatementFileError(_at(starts, records.index), str(error) or "malformed") from None
    header = parsed.header
    statements = []
    for group in parsed.children:
        as_of: dt.date | None = group.header.as_of_date
        if as_of is None:
            raise StatementFileError("group", "a group without its as-of date")
        for account in group.children:
            number = (account.header.customer_account_number or "").strip()
            if not number:
                raise StatementFileError("account", "an account record without its number")
            currency = account.header.currency or group.header.currency or "USD"
            lines = []
            for n, tx in enumerate(account.children, 1):
                if tx.amount is None:
                    raise StatementFileError(f"transaction {n}", "no amount")
                sign = -1 if tx.type_code.transaction is TypeCodeTransaction.debit else 1
                lines.append(
                    Line(
                        line_no=n,
                        booking_date=as_of,
                        amount=sign * int(tx.amount),
                        type_code=str(tx.type_code.code),
                        bank_reference=(tx.bank_reference or "")[:80],
                        customer_reference=(tx.customer_reference or "")[:80],
                        text=(tx.text or "").strip()[:500],
                    )
                )
            statement_id = f"{header.file_id}-{as_of.isoformat()}"
            statements.append(Statement(statement_id, number[:64], currency, as_of, lines))
    return statements


def _at(starts: list[int], index: int) -> str:
    if not starts:
        return "line 1"
    return f"line {starts[max(0, min(index, len(starts) - 1))]}"


# -- camt.053 --------------------------------------------------------------------------

_NS = re.compile(r"^\{(urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d\d)\}Document$")


def read_camt053(data: bytes) -> list[Statement]:
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise StatementFileError("XML", f"refused: {type(error).__name__}") from None
    except ParseError as error:
        line, column = error.position
        raise StatementFileError(f"line {line}, column {column}", "not well-formed XML") from None
    found = _NS.match(root.tag)
    if not found:
        raise StatementFileError(f"/{_local(root.tag)}", "not a camt.053 Document")
    ns = {"c": found.group(1)}
    reader = _Camt(ns)
    statements = []
    stmts = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not stmts:
        raise StatementFileError("/Document/BkToCstmrStmt", "no Stmt")
    for i, stmt in enumerate(stmts, 1):
        path = f"/Document/BkToCstmrStmt/Stmt[{i}]"
        statement_id = reader.text(stmt, "c:Id", path)
        account = reader.first(stmt, ["c:Acct/c:Id/c:IBAN", "c:Acct/c:Id/c:Othr/c:Id"], path)
        created = reader.optional(stmt, "c:CreDtTm")
        lines = []
        currency = reader.optional(stmt, "c:Acct/c:Ccy")
        day: dt.date | None = None
        for n, entry in enumerate(stmt.findall("c:Ntry", ns), 1):
            where = f"{path}/Ntry[{n}]"
            amount_el = entry.find("c:Amt", ns)
            if amount_el is None:
                raise StatementFileError(f"{where}/Amt", "missing")
            ccy = amount_el.get("Ccy", "")
            if not re.fullmatch(r"[A-Z]{3}", ccy):
                raise StatementFileError(f"{where}/Amt/@Ccy", "not a currency code")
            currency = currency or ccy
            if ccy != currency:
                raise StatementFileError(f"{where}/Amt/@Ccy", f"{ccy}, not {currency}")
            minor = _minor(amount_el.text, f"{where}/Amt")
            indicator = reader.text(entry, "c:CdtDbtInd", where)
            if indicator not in ("CRDT", "DBIT"):
                raise StatementFileError(f"{where}/CdtDbtInd", f"{indicator!r}: CRDT or DBIT")
            if reader.optional(entry, "c:RvslInd") == "true":
                indicator = "DBIT" if indicator == "CRDT" else "CRDT"
            booked = reader.first(entry, ["c:BookgDt/c:Dt", "c:BookgDt/c:DtTm"], where)
            booking = _date(booked, f"{where}/BookgDt")
            day = max(day, booking) if day else booking
            refs = "c:NtryDtls/c:TxDtls/c:Refs"
            lines.append(
                Line(
                    line_no=n,
                    booking_date=booking,
                    amount=minor if indicator == "CRDT" else -minor,
                    type_code=(
                        reader.optional(entry, "c:BkTxCd/c:Prtry/c:Cd")
                        or reader.optional(entry, "c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd")
                        or indicator
                    )[:10],
                    bank_reference=(
                        reader.optional(entry, "c:AcctSvcrRef")
                        or reader.optional(entry, f"{refs}/c:AcctSvcrRef")
                    )[:80],
                    customer_reference=(
                        reader.optional(entry, f"{refs}/c:EndToEndId")
                        or reader.optional(entry, f"{refs}/c:InstrId")
                    )[:80],
                    text=" ".join(
                        t
                        for t in (
                            reader.optional(entry, "c:AddtlNtryInf"),
                            reader.optional(entry, "c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd"),
                        )
                        if t
                    )[:500],
                )
            )
        statement_date = day or (_date(created, f"{path}/CreDtTm") if created else None)
        if statement_date is None:
            raise StatementFileError(f"{path}/CreDtTm", "no entries and no creation date")
        statements.append(
            Statement(statement_id[:80], account[:64], currency or "USD", statement_date, lines)
        )
    return statements


class _Camt:
    def __init__(self, ns: dict[str, str]) -> None:
        self.ns = ns

    def optional(self, element: Element, path: str) -> str:
        found = element.find(path, self.ns)
        return (found.text or "").strip() if found is not None else ""

    def text(self, element: Element, path: str, where: str) -> str:
        value = self.optional(element, path)
        if not value:
            raise StatementFileError(f"{where}/{path.replace('c:', '')}", "missing")
        return value

    def first(self, element: Element, paths: list[str], where: str) -> str:
        for path in paths:
            value = self.optional(element, path)
            if value:
                return value
        raise StatementFileError(f"{where}/{paths[0].replace('c:', '')}", "missing")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _minor(text: str | None, where: str) -> int:
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        raise StatementFileError(where, f"{text!r} is not an amount") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise StatementFileError(where, f"{text!r} is not an amount in cents")
    return int(value * 100)


def _date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise StatementFileError(where, f"{text!r} is not a date") from None


def iter_lines(statements: list[Statement]) -> Iterator[tuple[Statement, Line]]:
    for statement in statements:
        for line in statement.lines:
            yield statement, line
