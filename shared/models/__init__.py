"""The domain's tables. Import from here: `from shared.models import Payment`."""

from shared.models.approvals import ApprovalAction, ApprovalRequest, ApprovalStatus
from shared.models.audit import AuditChainHead, AuditEvent
from shared.models.catalog import Department, DepartmentName, FeeType, FeeTypeName
from shared.models.corrections import Correction, CorrectionKind, CorrectionLine
from shared.models.customers import (
    Account,
    AccountStatus,
    Customer,
    CustomerSearchTerm,
    Invoice,
    InvoiceStatus,
)
from shared.models.exceptions import ExceptionCase, ExceptionKind, ExceptionStatus
from shared.models.finance import (
    Deposit,
    DepositKind,
    DrawerSession,
    DrawerStatus,
    GlEntry,
    GlExport,
    GlLine,
    GlSource,
    SettlementBatchRecord,
)
from shared.models.help import HelpTopic
from shared.models.holds import AccountCredit, CreditStatus, HoldOutcome, PaymentHold
from shared.models.interactions import (
    Interaction,
    InteractionChannel,
    InteractionLink,
    InteractionNote,
    LinkKind,
    Outcome,
)
from shared.models.outbox import OutboxMessage, OutboxStatus
from shared.models.payments import (
    Allocation,
    Channel,
    IdempotencyRecord,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Tender,
)
from shared.models.rate_limit import RateLimitWindow
from shared.models.receipts import Receipt, ReceiptDelivery, ReceiptSequence
from shared.models.reconciliation import (
    BankLine,
    BankStatement,
    DepositMatch,
    MatchKind,
    ReconciliationMatch,
    StatementFormat,
)
from shared.models.sources import BalanceSourceSetting, IntegrationClient, SourceMode
from shared.models.staff import (
    AccessStamp,
    Permission,
    Role,
    RoleAssignment,
    StaffUser,
    Terminal,
)
from shared.models.support import (
    ContactMethod,
    SupportPriority,
    SupportRequest,
    SupportRequestEvent,
    SupportRequestSequence,
    SupportStatus,
)
from shared.models.web_session import SessionKind, WebSession
from shared.models.webhooks import (
    DeliveryStatus,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from shared.models.write_back import WriteBack, WriteBackStatus

__all__ = [
    "AccessStamp",
    "Account",
    "AccountCredit",
    "AccountStatus",
    "Allocation",
    "ApprovalAction",
    "ApprovalRequest",
    "ApprovalStatus",
    "AuditChainHead",
    "AuditEvent",
    "BalanceSourceSetting",
    "BankLine",
    "BankStatement",
    "Channel",
    "ContactMethod",
    "Correction",
    "CorrectionKind",
    "CorrectionLine",
    "CreditStatus",
    "Customer",
    "CustomerSearchTerm",
    "DeliveryStatus",
    "Department",
    "DepartmentName",
    "Deposit",
    "DepositKind",
    "DepositMatch",
    "DrawerSession",
    "DrawerStatus",
    "ExceptionCase",
    "ExceptionKind",
    "ExceptionStatus",
    "FeeType",
    "FeeTypeName",
    "GlEntry",
    "GlExport",
    "GlLine",
    "GlSource",
    "HelpTopic",
    "HoldOutcome",
    "IdempotencyRecord",
    "IntegrationClient",
    "Interaction",
    "InteractionChannel",
    "InteractionLink",
    "InteractionNote",
    "Invoice",
    "InvoiceStatus",
    "LinkKind",
    "MatchKind",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "Payment",
    "PaymentHold",
    "PaymentStatus",
    "PaymentStatusChange",
    "Permission",
    "RateLimitWindow",
    "Receipt",
    "ReceiptDelivery",
    "ReceiptSequence",
    "ReconciliationMatch",
    "Role",
    "RoleAssignment",
    "SessionKind",
    "SettlementBatchRecord",
    "SourceMode",
    "StaffUser",
    "StatementFormat",
    "SubscriptionStatus",
    "SupportPriority",
    "SupportRequest",
    "SupportRequestEvent",
    "SupportRequestSequence",
    "SupportStatus",
    "Tender",
    "Terminal",
    "WebSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "WriteBack",
    "WriteBackStatus",
]
