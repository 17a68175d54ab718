# Stage rules: tables (see docs/architecture.md for the conventions).
