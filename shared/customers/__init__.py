"""Customers and what they owe: balances (`balances`), the portal's look-up by bill
(`lookup`), staff search (`search`) and identifier recognition (`identifier_search`),
and department limits as SQL conditions (`visibility`).

May import the kernel and `shared.models` only: finding a customer never depends on how
payments are taken or receipts rendered. Search terms (`shared.search_terms`) stay in the
kernel because the models and the migrations compute them too.
"""
