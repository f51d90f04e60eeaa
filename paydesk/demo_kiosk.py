"""The demo's kiosk: the real kiosk runtime, with a simulated card reader and a file
printer, mounted at /kiosk/ and enrolled as a terminal of the demo server itself.

It talks to the server over HTTP like any kiosk (to the demo's own address), so a
newcomer sees exactly what a lobby kiosk does: enrolment, the kiosk API, the journal,
the heartbeat the staff console shows. Printed receipts land in var/kiosk-demo/printer/.
"""

from __future__ import annotations

from kiosk.app import KioskApp
from kiosk.client import Credentials
from kiosk.settings import KioskSettings
from paydesk.runtime import Runtime
from shared.actors import SYSTEM
from shared.db import transaction
from shared.terminals.credentials import provision

DEMO_KIOSK = "KIOSK-DEMO"
DEMO_LOCATION = "City Hall lobby (demo)"


def demo_kiosk(runtime: Runtime, base_url: str) -> KioskApp:
    """Register (or re-key) the demo terminal and build its kiosk, reader and printer
    simulated; its state (credentials, journal, receipts) lives under var/kiosk-demo."""
    with transaction(runtime.factory) as session:
        issued = provision(session, SYSTEM, code=DEMO_KIOSK, location=DEMO_LOCATION)
    settings = KioskSettings.from_environment(
        server_url=base_url,
        terminal=DEMO_KIOSK,
        state_dir=runtime.settings.var_dir / "kiosk-demo",
    )
    Credentials(issued.client_id, issued.client_secret, issued.terminal).save(
        settings.credentials_path
    )
    return KioskApp(settings)
