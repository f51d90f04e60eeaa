"""Staff authentication and access: passwords, TOTP, sign-in with lockout, permissions."""
