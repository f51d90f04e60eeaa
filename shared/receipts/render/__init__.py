"""Renderings of a `ReceiptDocument`: printer layout, HTML fragment, PDF and email.

Each rendering is its own module (`layout`, `html`, `pdf`, `email`) so that a
caller pays only for what it imports: the kiosk needs the layout, not fpdf2.
"""
