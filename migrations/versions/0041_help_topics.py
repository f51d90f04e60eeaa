"""help topics: what the support widget answers before anyone writes in, per live state of
a payment and for common questions, in English, French and Spanish; an administrator
edits them at /staff/admin/help

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-08 02:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (key, situation, (title en, fr, es), (body en, fr, es)). The situations are the live
# states `shared.help.answers` recognises; None is a general question.
TOPICS = [
    (
        "confirming",
        "confirming",
        (
            "We are still confirming your payment",
            "Nous confirmons encore votre paiement",
            "Todavía estamos confirmando su pago",
        ),
        (
            "Your card payment is being confirmed with the card processor. There is no need "
            "to pay again: the amount is held so that it cannot be charged twice. We will "
            "email you the receipt as soon as it is confirmed, usually within a few minutes.",
            "Votre paiement par carte est en cours de confirmation auprès du processeur de "
            "cartes. Inutile de payer de nouveau : le montant est réservé et ne peut pas être "
            "prélevé deux fois. Nous vous enverrons le reçu par courriel dès la confirmation, "
            "généralement en quelques minutes.",
            "Su pago con tarjeta se está confirmando con el procesador de tarjetas. No hace "
            "falta pagar de nuevo: el importe queda retenido para que no se cobre dos veces. "
            "Le enviaremos el recibo por correo electrónico en cuanto se confirme, "
            "normalmente en pocos minutos.",
        ),
    ),
    (
        "posted",
        "posted",
        (
            "Your payment was received",
            "Votre paiement a été reçu",
            "Hemos recibido su pago",
        ),
        (
            "Your payment has been applied to your account. The money reaches the city with "
            "the next card settlement, usually within two business days. There is nothing "
            "more for you to do.",
            "Votre paiement a été appliqué à votre compte. L'argent parvient à la ville lors "
            "du prochain règlement des cartes, généralement en deux jours ouvrables. Vous "
            "n'avez rien d'autre à faire.",
            "Su pago se ha aplicado a su cuenta. El dinero llega a la ciudad con la próxima "
            "liquidación de tarjetas, normalmente en dos días hábiles. No tiene que hacer "
            "nada más.",
        ),
    ),
    (
        "settled",
        "settled",
        (
            "Your payment is complete",
            "Votre paiement est terminé",
            "Su pago está completo",
        ),
        (
            "Your payment was applied to your account and the funds have reached the city. "
            "If you need the receipt again, we can email it to the address we have on file.",
            "Votre paiement a été appliqué à votre compte et les fonds sont parvenus à la "
            "ville. S'il vous faut de nouveau le reçu, nous pouvons l'envoyer à l'adresse "
            "courriel que nous avons au dossier.",
            "Su pago se aplicó a su cuenta y los fondos han llegado a la ciudad. Si necesita "
            "el recibo otra vez, podemos enviarlo a la dirección de correo que tenemos "
            "registrada.",
        ),
    ),
    (
        "duplicate",
        "duplicate",
        (
            "Were you charged twice?",
            "Avez-vous été débité deux fois?",
            "¿Le cobraron dos veces?",
        ),
        (
            "We see two payments of the same amount to the same account a few minutes "
            "apart. If you did not mean to pay twice, report it: a person will check both "
            "payments and refund the extra one.",
            "Nous voyons deux paiements du même montant au même compte, à quelques minutes "
            "d'intervalle. Si vous ne vouliez pas payer deux fois, signalez-le : une "
            "personne vérifiera les deux paiements et remboursera celui de trop.",
            "Vemos dos pagos del mismo importe a la misma cuenta con pocos minutos de "
            "diferencia. Si no quería pagar dos veces, avísenos: una persona revisará ambos "
            "pagos y le devolverá el que sobra.",
        ),
    ),
    (
        "balance_showing",
        "balance_showing",
        (
            "Still seeing a balance after paying?",
            "Vous voyez encore un solde après avoir payé?",
            "¿Todavía ve un saldo después de pagar?",
        ),
        (
            "Your payment is recorded here, but the department's billing system shows the "
            "old balance until it receives the news from us. That usually takes a few "
            "minutes. If that system is unavailable we keep trying, and it can take up to "
            "one business day. You do not need to pay again.",
            "Votre paiement est enregistré ici, mais le système de facturation du service "
            "affiche l'ancien solde tant qu'il n'a pas reçu la nouvelle de notre part. Cela "
            "prend généralement quelques minutes. Si ce système est indisponible, nous "
            "réessayons, et cela peut prendre jusqu'à un jour ouvrable. Vous n'avez pas à "
            "payer de nouveau.",
            "Su pago está registrado aquí, pero el sistema de facturación del departamento "
            "muestra el saldo anterior hasta que recibe la noticia de nuestra parte. Suele "
            "tardar unos minutos. Si ese sistema no está disponible, seguimos intentándolo "
            "y puede tardar hasta un día hábil. No tiene que pagar de nuevo.",
        ),
    ),
    (
        "not_taken",
        "not_taken",
        (
            "This payment did not go through",
            "Ce paiement n'a pas abouti",
            "Este pago no se completó",
        ),
        (
            "Nothing was charged. You can try again with another card or another way of "
            "paying.",
            "Rien n'a été prélevé. Vous pouvez réessayer avec une autre carte ou un autre "
            "moyen de paiement.",
            "No se cobró nada. Puede intentarlo de nuevo con otra tarjeta u otra forma de "
            "pago.",
        ),
    ),
    (
        "corrected",
        "corrected",
        (
            "This payment was changed",
            "Ce paiement a été modifié",
            "Este pago se modificó",
        ),
        (
            "This payment was cancelled, refunded or reversed, as described below. If you "
            "did not expect this, contact us.",
            "Ce paiement a été annulé, remboursé ou contrepassé, comme indiqué ci-dessous. "
            "Si vous ne vous y attendiez pas, communiquez avec nous.",
            "Este pago se canceló, se reembolsó o se revirtió, como se indica abajo. Si no "
            "lo esperaba, contáctenos.",
        ),
    ),
    (
        "faq_receipt",
        None,
        (
            "How do I get a copy of my receipt?",
            "Comment obtenir une copie de mon reçu?",
            "¿Cómo obtengo una copia de mi recibo?",
        ),
        (
            "Open the receipt from the link in your confirmation email, or look up your "
            "payment on the page \u201cDid my payment go through?\u201d with your receipt "
            "number and the amount paid. From there you can print it or have it emailed.",
            "Ouvrez le reçu à partir du lien de votre courriel de confirmation, ou trouvez "
            "votre paiement sur la page \u00ab\u00a0Mon paiement a-t-il été accepté?\u00a0\u00bb "
            "avec votre numéro de reçu et le montant payé. Vous pourrez alors l'imprimer ou "
            "le recevoir par courriel.",
            "Abra el recibo desde el enlace de su correo de confirmación, o busque su pago "
            "en la página \u00ab¿Se realizó mi pago?\u00bb con su número de recibo y el "
            "importe pagado. Desde allí puede imprimirlo o recibirlo por correo.",
        ),
    ),
    (
        "faq_ways_to_pay",
        None,
        (
            "Which ways of paying do you accept?",
            "Quels moyens de paiement acceptez-vous?",
            "¿Qué formas de pago aceptan?",
        ),
        (
            "Online and at the lobby kiosks: credit and debit cards. At the counter in "
            "City Hall: cash, cheque or card.",
            "En ligne et aux bornes du hall : cartes de crédit et de débit. Au comptoir de "
            "l'hôtel de ville : argent comptant, chèque ou carte.",
            "En línea y en los quioscos del vestíbulo: tarjetas de crédito y débito. En el "
            "mostrador del ayuntamiento: efectivo, cheque o tarjeta.",
        ),
    ),
    (
        "faq_refund_time",
        None,
        (
            "How long does a refund take?",
            "Combien de temps prend un remboursement?",
            "¿Cuánto tarda un reembolso?",
        ),
        (
            "A refund goes back the way you paid. On a card it can take up to 10 business "
            "days to appear on your statement.",
            "Un remboursement revient par le moyen utilisé pour payer. Sur une carte, il "
            "peut prendre jusqu'à 10 jours ouvrables pour paraître sur votre relevé.",
            "Un reembolso vuelve por la misma vía con la que pagó. En una tarjeta puede "
            "tardar hasta 10 días hábiles en aparecer en su estado de cuenta.",
        ),
    ),
]


def upgrade() -> None:
    topics = op.create_table(
        "help_topics",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("situation", sa.String(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("title_fr", sa.String(length=200), nullable=False),
        sa.Column("title_es", sa.String(length=200), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("body_fr", sa.Text(), nullable=False),
        sa.Column("body_es", sa.Text(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_topics")),
        sa.UniqueConstraint("key", name=op.f("uq_help_topics_key")),
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        topics,
        [
            {
                "key": key,
                "situation": situation,
                "position": position,
                "active": True,
                "title_en": titles[0],
                "title_fr": titles[1],
                "title_es": titles[2],
                "body_en": bodies[0],
                "body_fr": bodies[1],
                "body_es": bodies[2],
                "updated_at": now,
                "updated_by": "migration 0041",
            }
            for position, (key, situation, titles, bodies) in enumerate(TOPICS)
        ],
    )


def downgrade() -> None:
    op.drop_table("help_topics")
