"""The sandbox card processor, Paydesk's embedded default gateway.

`SandboxGateway(url, base_url)` is the `PaymentGateway`; mount
`hosted_app(gateway)` at `base_url` for its hosted card page and card-present
endpoint. Test cards are in `cards.SANDBOX_CARDS`.
"""

from shared.gateway.sandbox.cards import SANDBOX_CARDS, Behaviour, CardData, CardError
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.gateway.sandbox.hosted import hosted_app
from shared.gateway.sandbox.settlement import write_report

__all__ = [
    "SANDBOX_CARDS",
    "Behaviour",
    "CardData",
    "CardError",
    "SandboxGateway",
    "hosted_app",
    "write_report",
]
