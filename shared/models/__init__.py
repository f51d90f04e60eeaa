"""The domain's tables. Import from here: `from shared.models import Payment`."""

from shared.models.audit import AuditChainHead, AuditEvent
from shared.models.catalog import Department, DepartmentName, FeeType, FeeTypeName
from shared.models.customers import (
    Account,
    AccountStatus,
    Customer,
    CustomerSearchTerm,
    Invoice,
    InvoiceStatus,
)
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
from shared.models.staff import (
    AccessStamp,
    Permission,
    Role,
    RoleAssignment,
    StaffUser,
    Terminal,
)
from shared.models.web_session import SessionKind, WebSession
from shared.models.write_back import WriteBack, WriteBackStatus

__all__ = [
    "AccessStamp",
    "Account",
    "AccountStatus",
    "Allocation",
    "AuditChainHead",
    "AuditEvent",
    "Channel",
    "Customer",
    "CustomerSearchTerm",
    "Department",
    "DepartmentName",
    "FeeType",
    "FeeTypeName",
    "IdempotencyRecord",
    "Interaction",
    "InteractionChannel",
    "InteractionLink",
    "InteractionNote",
    "Invoice",
    "InvoiceStatus",
    "LinkKind",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "Payment",
    "PaymentStatus",
    "PaymentStatusChange",
    "Permission",
    "RateLimitWindow",
    "Receipt",
    "ReceiptDelivery",
    "ReceiptSequence",
    "Role",
    "RoleAssignment",
    "SessionKind",
    "StaffUser",
    "Tender",
    "Terminal",
    "WebSession",
    "WriteBack",
    "WriteBackStatus",
]
