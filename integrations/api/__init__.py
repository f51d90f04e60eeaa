"""The integration API: a FastAPI sub-app mounted at `/api`, JSON in and out, its OpenAPI
document generated from the pydantic models (`/api/openapi.json`) and shown by a docs page
rendered here from that document (`/api/docs`, nothing loaded from elsewhere). Version 1
holds the kiosk API (`/api/v1/kiosk/...`, bearer tokens from `/api/v1/oauth/token`); it
calls the same shared/ services as the portal and the staff console."""
