"""The hosted page's words in English, French and Spanish.

A processor's page ships its own strings rather than reading the merchant's
catalogs, so these live here instead of in Paydesk's gettext files.
"""

from __future__ import annotations

from shared.i18n import DEFAULT_LOCALE

BRAND_NAMES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
}

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "processor": "Sandbox payment processor",
        "skip": "Skip to main content",
        "pay_title": "Pay by card",
        "amount": "Amount",
        "description": "For",
        "card_details": "Card details",
        "name": "Name on card",
        "number": "Card number",
        "expiry": "Expiry date",
        "expiry_hint": "MM/YY, for example 04/29",
        "cvc": "Security code",
        "cvc_hint": "The 3 digits on the back of the card, or 4 on the front for American Express",
        "pay_button": "Pay {amount}",
        "cancel_button": "Cancel and go back",
        "error_title_prefix": "Error: ",
        "error_summary": "There is a problem",
        "error_label": "Error:",
        "sandbox_title": "Sandbox — use a test card",
        "sandbox_intro": "This is a test processor: no real money moves. Use any future "
        "expiry date and any 3-digit security code (4 digits for American Express).",
        "sandbox_caption": "Test cards and what they do",
        "col_number": "Card number",
        "col_brand": "Brand",
        "col_result": "Result",
        "outcome_approve": "Approved",
        "outcome_decline": "Declined",
        "outcome_insufficient": "Declined: insufficient funds",
        "outcome_timeout_approve": "No answer in time, then approved",
        "outcome_timeout_decline": "No answer in time, then declined",
        "other_cards": "Any other valid card number is declined as not supported.",
        "used_title": "This payment page has already been used",
        "used_body": "Nothing more has been charged. Return to the service to see where "
        "your payment stands.",
        "return_link": "Return to the service",
        "not_found_title": "Page not found",
        "not_found_body": "This payment page does not exist. Check the link, or start the "
        "payment again from the service.",
        "forged_title": "This form has expired",
        "forged_body": "For your security, nothing was sent. Open the payment page again "
        "and re-enter your card details.",
        "forged_link": "Open the payment page again",
        "index_title": "Sandbox payment processor",
        "index_body": "This is the test card processor built into Paydesk for demonstrations "
        "and tests. It moves no real money. The service opens its payment pages; there is "
        "nothing to do here.",
        "missing_name": "Enter the name on the card",
        "invalid_number": "Enter a valid card number",
        "invalid_expiry": "Enter the expiry date as MM/YY",
        "expired_card": "The card has expired",
        "invalid_cvc": "Enter the 3 or 4 digit security code",
    },
    "fr": {
        "processor": "Processeur de paiement de test",
        "skip": "Aller au contenu principal",
        "pay_title": "Payer par carte",
        "amount": "Montant",
        "description": "Objet",
        "card_details": "Renseignements sur la carte",
        "name": "Nom sur la carte",
        "number": "Numéro de carte",
        "expiry": "Date d’expiration",
        "expiry_hint": "MM/AA, par exemple 04/29",
        "cvc": "Code de sécurité",
        "cvc_hint": "Les 3 chiffres au dos de la carte, ou les 4 au recto pour American Express",
        "pay_button": "Payer {amount}",
        "cancel_button": "Annuler et revenir",
        "error_title_prefix": "Erreur : ",
        "error_summary": "Il y a un problème",
        "error_label": "Erreur :",
        "sandbox_title": "Bac à sable — utilisez une carte de test",
        "sandbox_intro": "Ceci est un processeur de test : aucun argent réel ne circule. "
        "Utilisez n’importe quelle date d’expiration future et n’importe quel code de "
        "sécurité à 3 chiffres (4 chiffres pour American Express).",
        "sandbox_caption": "Cartes de test et leur effet",
        "col_number": "Numéro de carte",
        "col_brand": "Réseau",
        "col_result": "Résultat",
        "outcome_approve": "Approuvé",
        "outcome_decline": "Refusé",
        "outcome_insufficient": "Refusé : fonds insuffisants",
        "outcome_timeout_approve": "Pas de réponse à temps, puis approuvé",
        "outcome_timeout_decline": "Pas de réponse à temps, puis refusé",
        "other_cards": "Tout autre numéro de carte valide est refusé comme non pris en charge.",
        "used_title": "Cette page de paiement a déjà été utilisée",
        "used_body": "Rien de plus n’a été débité. Retournez au service pour voir où en "
        "est votre paiement.",
        "return_link": "Retourner au service",
        "not_found_title": "Page introuvable",
        "not_found_body": "Cette page de paiement n’existe pas. Vérifiez le lien ou "
        "recommencez le paiement à partir du service.",
        "forged_title": "Ce formulaire a expiré",
        "forged_body": "Pour votre sécurité, rien n’a été envoyé. Ouvrez de nouveau la page "
        "de paiement et saisissez encore les renseignements de votre carte.",
        "forged_link": "Ouvrir de nouveau la page de paiement",
        "index_title": "Processeur de paiement de test",
        "index_body": "Ceci est le processeur de cartes de test intégré à Paydesk pour les "
        "démonstrations et les tests. Aucun argent réel ne circule. Le service ouvre ses "
        "pages de paiement ; il n’y a rien à faire ici.",
        "missing_name": "Entrez le nom qui figure sur la carte",
        "invalid_number": "Entrez un numéro de carte valide",
        "invalid_expiry": "Entrez la date d’expiration au format MM/AA",
        "expired_card": "La carte est expirée",
        "invalid_cvc": "Entrez le code de sécurité à 3 ou 4 chiffres",
    },
    "es": {
        "processor": "Procesador de pagos de prueba",
        "skip": "Saltar al contenido principal",
        "pay_title": "Pagar con tarjeta",
        "amount": "Importe",
        "description": "Concepto",
        "card_details": "Datos de la tarjeta",
        "name": "Nombre en la tarjeta",
        "number": "Número de tarjeta",
        "expiry": "Fecha de vencimiento",
        "expiry_hint": "MM/AA, por ejemplo 04/29",
        "cvc": "Código de seguridad",
        "cvc_hint": "Los 3 dígitos del reverso de la tarjeta, o los 4 del anverso en "
        "American Express",
        "pay_button": "Pagar {amount}",
        "cancel_button": "Cancelar y volver",
        "error_title_prefix": "Error: ",
        "error_summary": "Hay un problema",
        "error_label": "Error:",
        "sandbox_title": "Sandbox — use una tarjeta de prueba",
        "sandbox_intro": "Este es un procesador de prueba: no se mueve dinero real. Use "
        "cualquier fecha de vencimiento futura y cualquier código de seguridad de 3 dígitos "
        "(4 dígitos para American Express).",
        "sandbox_caption": "Tarjetas de prueba y su resultado",
        "col_number": "Número de tarjeta",
        "col_brand": "Marca",
        "col_result": "Resultado",
        "outcome_approve": "Aprobado",
        "outcome_decline": "Rechazado",
        "outcome_insufficient": "Rechazado: fondos insuficientes",
        "outcome_timeout_approve": "Sin respuesta a tiempo, luego aprobado",
        "outcome_timeout_decline": "Sin respuesta a tiempo, luego rechazado",
        "other_cards": "Cualquier otro número de tarjeta válido se rechaza por no ser compatible.",
        "used_title": "Esta página de pago ya se ha utilizado",
        "used_body": "No se ha cobrado nada más. Vuelva al servicio para ver el estado de su pago.",
        "return_link": "Volver al servicio",
        "not_found_title": "Página no encontrada",
        "not_found_body": "Esta página de pago no existe. Compruebe el enlace o vuelva a "
        "iniciar el pago desde el servicio.",
        "forged_title": "Este formulario ha caducado",
        "forged_body": "Por su seguridad, no se ha enviado nada. Abra de nuevo la página de "
        "pago y vuelva a introducir los datos de su tarjeta.",
        "forged_link": "Abrir de nuevo la página de pago",
        "index_title": "Procesador de pagos de prueba",
        "index_body": "Este es el procesador de tarjetas de prueba integrado en Paydesk para "
        "demostraciones y pruebas. No mueve dinero real. El servicio abre sus páginas de "
        "pago; aquí no hay nada que hacer.",
        "missing_name": "Introduzca el nombre que figura en la tarjeta",
        "invalid_number": "Introduzca un número de tarjeta válido",
        "invalid_expiry": "Introduzca la fecha de vencimiento en formato MM/AA",
        "expired_card": "La tarjeta ha caducado",
        "invalid_cvc": "Introduzca el código de seguridad de 3 o 4 dígitos",
    },
}


def messages(locale: str) -> dict[str, str]:
    return MESSAGES.get(locale, MESSAGES[DEFAULT_LOCALE])
