"""Terminals: the registry of lobby kiosks (and the counter's devices), how a kiosk gets
and proves its identity, and what it last said about its health.

Owns registering a kiosk (code, location, department scope), its one-time enrolment code
(hashed, expiring after a day), enrolment exchanging that code for OAuth2 client
credentials (the secret kept only as a hash), the short-lived signed access tokens with the
`kiosk` scope (checked against the registry on every call, so a revocation ends them at
once), revocation and taking a kiosk out of service, and the heartbeats the kiosk sends:
stored as its health, and read back as online/offline (missed heartbeats), reader and
printer state, last payment and open help requests for the staff console. Every change
is audited in the name of whoever made it: the administrator, or the terminal itself.
"""
