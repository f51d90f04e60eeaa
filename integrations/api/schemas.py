"""The request and response models of the API: the OpenAPI document is generated from them."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Locale = Literal["en", "fr", "es"]


def _no_control_characters(value: str) -> str:
    # A NUL or another control character is never part of a number, a code or a sentence
    # (PostgreSQL refuses a NUL outright): refused here as bad input, not a failure later.
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in value):
        raise ValueError("control characters are not allowed")
    return value


_Clean = AfterValidator(_no_control_characters)
Reference = Annotated[str, StringConstraints(min_length=1, max_length=64), _Clean]
Detail = Annotated[str, StringConstraints(max_length=500), _Clean]
Version = Annotated[str, StringConstraints(max_length=64), _Clean]
Sentence = Annotated[str, StringConstraints(max_length=2000), _Clean]
Address = Annotated[str, StringConstraints(min_length=1, max_length=254), _Clean]
CardToken = Annotated[str, StringConstraints(min_length=1, max_length=200), _Clean]
Signed = Annotated[str, StringConstraints(min_length=1, max_length=4000), _Clean]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- errors ---------------------------------------------------------------------------


class Error(Model):
    """Every error: a code for programs and a sentence for people, in the request's locale."""

    error: str = Field(examples=["not_found"])
    message: str


class InvalidInput(Error):
    """422: which fields are wrong, and why."""

    fields: dict[str, str]


class RefusedBeforeTheApi(Model):
    """What the whole site answers a request it refuses before the API sees it: an
    address holding a control character, another host's name (400)."""

    class Detail(Model):
        code: str
        message: str
        request_id: str

    error: Detail


class OAuthError(Model):
    """RFC 6749 section 5.2."""

    error: str = Field(examples=["invalid_client"])
    error_description: str | None = None


# -- credentials ----------------------------------------------------------------------


class EnrolRequest(Model):
    terminal: Reference = Field(examples=["KIOSK-01"])
    enrolment_code: Reference = Field(examples=["7K3M-QX9P-2RTA-WB4N"])


class Enrolled(Model):
    client_id: str
    client_secret: str
    terminal: str
    location: str


class Token(Model):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


# -- the kiosk ------------------------------------------------------------------------


class KioskConfig(Model):
    terminal: str
    location: str
    currency: str
    locales: list[str]
    card_present_url: str
    heartbeat_seconds: int


class LookupRequest(Model):
    reference: Reference = Field(description="The account or bill number on the bill.")
    access_code: Reference = Field(
        description="The access code or the postal code printed on the bill."
    )
    locale: Locale = "en"
    basket_token: Signed | None = Field(
        default=None,
        description="The basket of an earlier look-up in this session: the answer's basket "
        "then names its bills too, so one payment can pay bills of several accounts.",
    )


class Held(Model):
    amount_minor: int
    amount_display: str
    since: dt.datetime
    since_display: str
    message: str


class Bill(Model):
    invoice_number: str
    account_number: str
    department: str
    description: str
    amount_due_minor: int
    amount_due_display: str
    payable_minor: int
    payable_display: str
    held: Held | None


class Found(Model):
    basket_token: str
    customer_display: str
    bills: list[Bill]
    currency: str


class PaymentItem(Model):
    invoice_number: Reference
    amount_minor: int | None = Field(
        default=None, ge=1, le=10**12, description="None pays what the bill owes."
    )


class PaymentCreate(Model):
    basket_token: Signed
    items: list[PaymentItem] = Field(min_length=1, max_length=50)
    card_token: CardToken = Field(
        description="The single-use token from the gateway's card-present endpoint."
    )
    locale: Locale = "en"
    email: Address | None = None


class Payment(Model):
    transaction_id: str
    status: str
    approved: bool
    in_doubt: bool
    message: str
    amount_minor: int
    amount_display: str
    currency: str
    card_brand: str | None
    card_last4: str | None
    receipt_number: str | None
    idempotency_key: str
    created_at: dt.datetime
    created_at_display: str


class Receipt(Model):
    receipt_number: str
    total_minor: int
    total_display: str
    verification_url: str
    layout: list[dict[str, Any]] = Field(
        description="shared.receipts.layout_json.to_json of the receipt's print layout."
    )


class EmailRequest(Model):
    email: Address
    locale: Locale = "en"


class EmailQueued(Model):
    sent_to: str


class Reader(Model):
    state: Literal["ok", "no_reader", "no_service", "error"]
    detail: Detail = ""


class Printer(Model):
    state: Literal["ok", "paper_near_end", "paper_out", "cover_open", "offline", "error"]
    detail: Detail = ""


class Heartbeat(Model):
    app_version: Version = ""
    in_service: bool
    reader: Reader
    printer: Printer
    journal_pending: int = Field(default=0, ge=0, le=1_000_000)
    last_payment: Reference | None = None


class HeartbeatAnswer(Model):
    server_time: dt.datetime
    in_service: bool


class HelpAbout(Model):
    kind: Literal["payment", "receipt", "bill"]
    reference: Reference


class HelpRequest(Model):
    locale: Locale = "en"
    about: HelpAbout | None = None
    message: Sentence = ""


class HelpCreated(Model):
    reference: str


class Index(Model):
    service: str
    openapi: str
    docs: str
    versions: dict[str, dict[str, str]]


# -- push (balances:write) ----------------------------------------------------------------

MinorUnits = Annotated[int, Field(ge=0, le=10**12)]
SourceVersion = Annotated[
    int,
    Field(
        ge=0,
        le=2**63 - 1,
        description="The system's own version or timestamp (e.g. epoch milliseconds) of this "
        "record: an update whose version is not newer than the stored one is not applied.",
    ),
]


class ProblemDetails(Model):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str = Field(examples=["https://paydesk.invalid/problems/not-a-push-system"])
    title: str
    status: int
    detail: str
    errors: dict[str, str] | None = None


class PushedBill(Model):
    account: Reference = Field(description="The account number the bill is on (this system's).")
    version: SourceVersion
    owing: MinorUnits = Field(description="What is still owing, in minor units; 0: paid.")
    amount_due: MinorUnits | None = Field(default=None, description="The bill's full amount.")
    fee_type: Reference | None = Field(
        default=None, description="Needed for a bill new to Paydesk: a fee type code."
    )
    description: Detail | None = None
    due_date: dt.date | None = None


class BulkBill(PushedBill):
    number: Reference = Field(description="The bill's number in the system.")


class PushedAccount(Model):
    version: SourceVersion
    status: Literal["active", "closed", "hold", "collections"]


class PushResult(Model):
    system: str
    number: str
    applied: bool = Field(description="False when the stored version was as new or newer.")
    version: int = Field(description="The version Paydesk holds now.")
    owing: int
    status: str
