"""Bank reconciliation: bank statements imported and matched to expected deposits.

A statement file (BAI2, or ISO 20022 camt.053 read with a safe XML parser) is parsed
whole before anything is written: a malformed file is refused with its line (or XML path)
and the reason, and nothing of it is kept. The same file twice, or a statement already
imported, changes nothing. `matching` pairs statement lines (credits, and debits for a
card batch that paid back more than it took) with the deposits of `shared.finance` by
reference, by amount within a date window, and by groups on one day (several deposits in
one credit, or one deposit paid in several credits); what is still unmatched once the
window has passed becomes a `reconciliation_break` in the exceptions queue, once. A person
can match by hand with a reason, which is audited and resolves the breaks it settles.
Imports `shared.finance` models and `shared.exceptions`.
"""
