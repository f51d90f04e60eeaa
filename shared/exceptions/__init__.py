"""The exceptions queue: things a person must look at (a possible duplicate, an
overpayment, a payment long in doubt, a settlement mismatch, a failing write-back, a
reversal), each opened once per subject by the code that finds it (`cases`), then
claimed, assigned and resolved with an outcome by staff.

May import the kernel and `shared.models` only: the domains that find something call
into it, never the other way round.
"""
