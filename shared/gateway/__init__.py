"""Card processors: the `PaymentGateway` protocol (`protocol`) and the sandbox processor
(`sandbox/`) that plays a real one in the demo and the tests.

May import the kernel only: a processor keeps its own state, apart from Paydesk's tables
(`shared.models`), as a real one would.
"""
