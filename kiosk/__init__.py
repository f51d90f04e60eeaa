"""The lobby kiosk's runtime (`paydesk kiosk`): the screens a locked-down Chromium shows on
127.0.0.1, the card reader and printer through `kiosk_devices`, a local journal of
payment attempts, and the client of the server's kiosk API. It runs on a kiosk machine
that has no Paydesk database: from `shared/` it takes only what needs none."""
