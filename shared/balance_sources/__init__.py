"""Balance sources: where an account's bills and balance come from, and keeping them fresh.

Each source system an account names (`Account.source_system`) has a mode an administrator
sets (`shared.models.BalanceSourceSetting`): `local` (the bills held in Paydesk, the
default), `pull` (Paydesk asks the system's HTTP JSON endpoint: `http_json`) or `push`
(the system sends them; recorded now, the integration API comes later). A source is a
`BalanceSource` Protocol (`protocol`); `refreshing` asks the pull sources of the accounts
a page or a payment is about to use, in parallel and with a short timeout, behind a
circuit breaker per system (`breaker`), and applies what they answer to the bills held
here: a slow or failing system leaves the last known balance, with its time.
"""
