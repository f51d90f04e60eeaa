"""customer search terms, payer email index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 00:31:59.523128

One row per term a customer can be found by (`shared.search_terms`). Existing customers
are indexed here in batches, with the same Python folding the app uses when it writes;
the second index is built once the rows are in. Payments get an index on the payer's
email, which the search looks up whole.
"""

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

from shared.search_terms import customer_terms

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000

customers = sa.table(
    'customers',
    sa.column('id', sa.BigInteger()),
    sa.column('name', sa.String()),
    sa.column('email', sa.String()),
    sa.column('phone', sa.String()),
)
terms = sa.table('customer_search_terms', sa.column('term', sa.String()), sa.column('customer_id', sa.BigInteger()))


def _batches() -> Iterator[list[tuple[str, int]]]:
    bind = op.get_bind()
    last = 0
    while True:
        batch = bind.execute(
            sa.select(customers.c.id, customers.c.name, customers.c.email, customers.c.phone)
            .where(customers.c.id > last)
            .order_by(customers.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        yield [
            (term, row.id)
            for row in batch
            for term in customer_terms(row.name, row.email, row.phone)
        ]
        last = batch[-1].id


def _backfill(postgres: bool) -> None:
    bind = op.get_bind()
    for rows in _batches():
        if postgres:
            # COPY: several times faster than INSERT for a million customers' terms.
            raw = bind.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(
                'COPY customer_search_terms (term, customer_id) FROM STDIN'
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        elif rows:
            bind.execute(terms.insert(), [{'term': t, 'customer_id': c} for t, c in rows])


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    # PostgreSQL gets its keys once the rows are in: one pass each, not a check per row.
    # SQLite needs them up front (a WITHOUT ROWID table is its primary key).
    keys = [] if postgres else [
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_search_terms_customer_id_customers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('term', 'customer_id', name=op.f('pk_customer_search_terms')),
    ]
    op.create_table('customer_search_terms',
    sa.Column('term', sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    *keys,
    sqlite_with_rowid=False
    )
    _backfill(postgres)
    if postgres:
        op.create_primary_key(op.f('pk_customer_search_terms'), 'customer_search_terms', ['term', 'customer_id'])
        op.create_foreign_key(op.f('fk_customer_search_terms_customer_id_customers'), 'customer_search_terms', 'customers', ['customer_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('customer_search_terms', schema=None) as batch_op:
        batch_op.create_index('ix_customer_search_terms_customer_term', ['customer_id', 'term'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_payer_email', ['payer_email'], unique=False)

    if postgres:
        # Statistics now, not when autovacuum comes by: the search's plans depend on them.
        op.execute('ANALYZE customer_search_terms')


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_payer_email')

    with op.batch_alter_table('customer_search_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_search_terms_customer_term')

    op.drop_table('customer_search_terms')
